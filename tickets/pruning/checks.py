"""The seed paper's sanity checks as named, seeded operations.

`CHECKS` maps a name to a frozen `Check` with `stage`:
    "none"  nothing to do
    "data"  corrupts the training tensors used in the PRUNING step (and in pretraining for methods
            that pretrain); retraining always sees the true data:
                check.corrupt_data(x, y, num_classes=C, seed=s) -> (x', y')
    "mask"  changes the mask / weights after pruning, before retraining:
                check.apply_to_mask(model, mask, seed=s, fresh_model=None) -> mask'
            (modifies `model` in place where the check changes weights; returns the new mask).
            Pass the weights retraining starts from UNMASKED (e.g. the initialisation for initial
            tickets): rearranged positions take the weights found there, as in the paper's
            f(ĉ ⊙ w); the returned mask is applied to `model` before returning.

Checks (section 3 of the paper):
    none            identity
    random_labels   every label replaced by a uniform random class
    random_pixels   every image's C·H·W values reordered by its own random permutation (the paper
                    permutes the flattened vector x_i; channels are not kept together)
    corrupt         random_labels + random_pixels (Figure 3); same draws as the two on their own
    half_data       a random half (floor(N/2) samples, no repeats) of the training set
    half_data_seed  the seed code's half dataset (baseline.py --max_batch_idx 390): the first
                    floor(floor(N/64)/2)·64 samples in dataset order, i.e. the first 390 batches
                    of 64 of an unshuffled loader, 24,960 fixed samples of CIFAR's 50,000 (the
                    paper's Table 3 row; the seed code also trains on them in a fixed order,
                    we reshuffle them every epoch)
    rearrange       each layer's mask independently permuted: same kept count, new positions
    shuffle_weights mask kept; the surviving weight values permuted among the kept positions, per layer
    reinit          same mask, freshly initialised weights: the caller passes `fresh_model`, a
                    network of the same architecture built from another seed (see `reinit_seed`)

Every random draw comes from a CPU `torch.Generator` seeded by `check_generator(seed, name)`, so the
same (seed, check) always gives the same corruption and different seeds give different ones."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Mapping

from registry.errors import UserError
from registry.naming import Registry

if TYPE_CHECKING:  # pragma: no cover  (torch loads only where a check runs: naming one is free)
    import torch
    from torch import nn

STAGES = ("none", "data", "mask")
_PIXEL_CHUNK = 4096  # images permuted per vectorised step (bounds memory on 50k CIFAR images)


def derived_seed(seed: int, name: str) -> int:
    digest = hashlib.sha256(f"{int(seed)}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def check_generator(seed: int, name: str) -> torch.Generator:
    """A CPU generator determined by (run seed, check name)."""
    import torch

    return torch.Generator().manual_seed(derived_seed(seed, name))


def reinit_seed(seed: int) -> int:
    """Seed for the fresh network of `reinit` (differs from the run seed that built the original)."""
    return derived_seed(seed, "reinit") % (2 ** 31)


def random_labels(y: torch.Tensor, num_classes: int, generator: torch.Generator) -> torch.Tensor:
    import torch

    return torch.randint(0, num_classes, y.shape, generator=generator, dtype=y.dtype).to(y.device)


def random_pixels(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each sample's flattened values reordered by its own uniformly random permutation."""
    import torch

    n = x.shape[0]
    flat = x.reshape(n, -1)
    out = torch.empty_like(flat)
    for start in range(0, n, _PIXEL_CHUNK):
        stop = min(n, start + _PIXEL_CHUNK)
        perm = torch.rand((stop - start, flat.shape[1]), generator=generator).argsort(dim=1)
        out[start:stop] = torch.gather(flat[start:stop], 1, perm.to(flat.device))
    return out.view(x.shape)


SEED_CODE_BATCH = 64  # the seed code's --train-batch, which its half dataset counts batches of


def first_half_batches(x: torch.Tensor, y: torch.Tensor, batch: int = SEED_CODE_BATCH):
    """The first half of the full batches of an unshuffled loader: a fixed, seed-independent set."""
    n = (x.shape[0] // batch // 2) * batch
    return x[:n], y[:n]


def half_data(x: torch.Tensor, y: torch.Tensor, generator: torch.Generator):
    import torch

    keep = torch.randperm(x.shape[0], generator=generator)[: x.shape[0] // 2].sort().values
    return x[keep.to(x.device)], y[keep.to(y.device)]


def rearrange_mask(mask: Mapping[str, torch.Tensor], generator: torch.Generator) -> dict[str, torch.Tensor]:
    """Per layer, the same number of kept positions placed uniformly at random."""
    import torch

    out = {}
    for n in mask:
        m = mask[n]
        perm = torch.randperm(m.numel(), generator=generator).to(m.device)
        out[n] = m.flatten()[perm].view(m.shape)
    return out


def shuffle_kept_weights(model: nn.Module, mask: Mapping[str, torch.Tensor], generator: torch.Generator) -> None:
    """Per layer, permute the values of the kept weights among the kept positions (in place)."""
    import torch

    from tickets.pruning.masks import prunable_weights

    with torch.no_grad():
        for n, w in prunable_weights(model):
            if n not in mask:
                continue
            flat = w.view(-1)
            kept = torch.nonzero(mask[n].flatten().to(w.device)).flatten()
            perm = torch.randperm(kept.numel(), generator=generator).to(w.device)
            flat[kept] = flat[kept[perm]].clone()


@dataclass(frozen=True)
class Check:
    name: str
    stage: str  # "none" | "data" | "mask"
    description: str
    labels: bool = False
    pixels: bool = False
    half: bool = False
    first_batches: bool = False  # half_data_seed: the seed code's fixed first half

    def corrupt_data(self, x: torch.Tensor, y: torch.Tensor, *, num_classes: int, seed: int):
        """The training tensors the pruning step sees under this check (new tensors; inputs untouched)."""
        if self.stage != "data":
            return x, y
        if self.half:
            x, y = half_data(x, y, check_generator(seed, "half_data"))
        if self.first_batches:
            x, y = first_half_batches(x, y)
        if self.pixels:
            x = random_pixels(x, check_generator(seed, "random_pixels"))
        if self.labels:
            y = random_labels(y, num_classes, check_generator(seed, "random_labels"))
        return x, y

    def apply_to_mask(self, model: nn.Module, mask: Mapping[str, torch.Tensor], *, seed: int,
                      fresh_model: nn.Module | Callable[[int], nn.Module] | None = None) -> dict[str, torch.Tensor]:
        """The mask (and, in place, the weights of `model`) retraining starts from."""
        if self.stage != "mask":
            return dict(mask)
        from torch import nn

        from tickets.pruning.masks import apply_mask

        gen = check_generator(seed, self.name)
        if self.name == "rearrange":
            new = rearrange_mask(mask, gen)
            apply_mask(model, new)
            return new
        if self.name == "shuffle_weights":
            shuffle_kept_weights(model, mask, gen)
            apply_mask(model, mask)
            return dict(mask)
        if self.name == "reinit":
            if fresh_model is None:
                raise UserError("check reinit needs a freshly initialised network of the same architecture")
            fresh = fresh_model(reinit_seed(seed)) if callable(fresh_model) and not isinstance(fresh_model, nn.Module) \
                else fresh_model
            model.load_state_dict(fresh.state_dict())
            apply_mask(model, mask)
            return dict(mask)
        raise AssertionError(self.name)


CHECKS: Registry[Check] = Registry("check")
for _check in (
    Check("none", "none", "no sanity check"),
    Check("random_labels", "data", "pruning data: labels replaced by uniform random classes", labels=True),
    Check("random_pixels", "data", "pruning data: each image's values randomly permuted", pixels=True),
    Check("corrupt", "data", "pruning data: random labels and random pixels", labels=True, pixels=True),
    Check("half_data", "data", "pruning data: a random half of the training set", half=True),
    Check("half_data_seed", "data", "pruning data: the seed code's half, the first 390 batches of 64 "
          "of the unshuffled training set (24,960 fixed samples on CIFAR)", first_batches=True),
    Check("rearrange", "mask", "each layer's mask randomly permuted (same per-layer counts)"),
    Check("shuffle_weights", "mask", "kept weights permuted among the kept positions, per layer"),
    Check("reinit", "mask", "same mask, freshly initialised weights"),
):
    CHECKS.register(_check.name, stage=_check.stage)(_check)
