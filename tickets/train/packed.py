"""Several runs of one architecture trained in one process as one stacked model (issue 7, packing).

One ResNet32 or LeNet at batch 64 leaves a GPU mostly idle (kernel-launch bound) and leaves CPU
kernels too small to use every core well. Packing K runs stacks their parameters along a new
leading dimension (`torch.func.stack_module_state`) and runs the model once per step with
`torch.func.vmap(functional_call)`: each conv/linear becomes one batched (grouped) kernel over K
runs, so the launch count per step is that of one run while the work is K runs'.

Each member keeps everything that makes it a separate run:
- its own initial weights (the models handed in, built from its own seed),
- its own mask (stacked as float 0/1; members without a mask for a layer get ones),
- its own data order and augmentation draws: one `torch.Generator` per member, consumed in exactly
  the order the single-run engine consumes it (`randperm` per epoch, then per batch the crop
  offsets and the flip coin, see tickets/train/batches.py), so member k sees bit-for-bit the batches
  a separate run with the same generator sees,
- its own optimiser state (momentum buffers are stacked too) and loss: the packed loss is the sum of
  the members' mean losses, so each member's gradient is exactly its own run's gradient.

Optimiser: SGD with momentum, weight decay (on every parameter, like torch.optim.SGD over
`model.parameters()`) and optional Nesterov, written with `torch._foreach_*` over the stacked
tensors in the same operation order as torch's foreach SGD; the learning rate follows the MultiStepLR
schedule of the shared `TrainConfig` (lr x gamma at each milestone epoch). Masks are enforced like
the engine does: masked gradients zeroed before the step, weights multiplied by the mask after it.

BatchNorm: the running statistics are stacked buffers passed to `functional_call` as vmapped
inputs. In training mode `batch_norm` updates them in place, and functional_call writes such in-place
updates through to the tensors it was given, so every member keeps its own running mean/var and
`num_batches_tracked`, exactly as a separate run would; batch statistics are computed per member
(vmap keeps the member dimension apart). No `replace_all_batch_norm_modules_` is needed (that helper
would drop running stats and change eval-mode behaviour).

What differs from separate runs: only floating-point summation order (a grouped conv instead of K
convs), so losses agree to float tolerance, not bitwise. channels_last is not used for the stacked
5-D activations (vmap folds the member dimension into the batch/group dimensions itself).

CUDA graphs (`cuda_graph=True`, CUDA only): the whole step (forward, backward, optimiser, mask
enforcement) is captured once and replayed; the batch is copied into static input tensors and the
learning rate lives in a device tensor. Augmentation and shuffling stay outside the graph. This
path is written for GPUs and has NOT been run yet (no GPU was lent while it was written).
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from registry.errors import UserError
from tickets.train.batches import DeviceLoader, eval_batches, training_tensors
from tickets.train.history import EpochRecord, History

Mask = Mapping[str, torch.Tensor]


def lr_at(config: Any, epoch: int) -> float:
    """MultiStepLR: the learning rate during 0-based `epoch`."""
    passed = sum(1 for m in config.milestones if m <= epoch)
    return config.lr * config.gamma ** passed


def autocast_dtype(config: Any, device: torch.device) -> torch.dtype | None:
    """bf16 autocast for precision "bf16" (as the engine); None (no autocast) for "fp32" and "tf32"."""
    return torch.bfloat16 if config.precision == "bf16" else None


class StackedModel:
    """K models of one architecture as stacked parameters and buffers around one stateless copy."""

    def __init__(self, models: Sequence[nn.Module], device: torch.device):
        if not models:
            raise UserError("packing needs at least one model")
        kinds = {type(m) for m in models}
        if len(kinds) != 1:
            raise UserError(f"packed runs must share one architecture, got {sorted(k.__name__ for k in kinds)}")
        models = [m.to(device) for m in models]
        self.k = len(models)
        self.device = device
        self.params, self.buffers = stack_module_state(models)  # leaf tensors, requires_grad set
        self.base = copy.deepcopy(models[0]).to("meta")  # structure only; all state comes from stacks
        self._train_fn = vmap(self._call, in_dims=(0, 0, 0))
        self._eval_fn = vmap(self._call, in_dims=(0, 0, None))

    def _call(self, params: dict, buffers: dict, x: torch.Tensor) -> torch.Tensor:
        return functional_call(self.base, (params, buffers), (x,))

    def forward_train(self, x: torch.Tensor) -> torch.Tensor:
        """x [K, B, ...] (each member its own batch) -> logits [K, B, C]; updates BN running stats."""
        self.base.train()
        return self._train_fn(self.params, self.buffers, x)

    @torch.no_grad()
    def forward_eval(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, ...] shared by every member -> logits [K, B, C], BN in eval mode."""
        self.base.eval()
        return self._eval_fn(self.params, self.buffers, x)

    def state_dict(self, k: int) -> dict[str, torch.Tensor]:
        """Member k's weights and buffers, loadable into one model of the architecture."""
        out = {n: p[k].detach().clone() for n, p in self.params.items()}
        out.update({n: b[k].detach().clone() for n, b in self.buffers.items()})
        return out

    def load_into(self, k: int, model: nn.Module) -> nn.Module:
        model.load_state_dict(self.state_dict(k))
        return model


def stacked_masks(stack: StackedModel, masks: Sequence[Mask | None]) -> dict[str, torch.Tensor]:
    """Float 0/1 masks [K, *shape] for every parameter masked in at least one member."""
    if len(masks) != stack.k:
        raise UserError(f"got {len(masks)} masks for {stack.k} packed runs")
    names = sorted({n for m in masks if m for n in m})
    out = {}
    for name in names:
        if name not in stack.params:
            known = ", ".join(n for n, p in stack.params.items() if p.dim() > 2)
            raise UserError(f"mask names unknown parameter {name!r}; prunable weights: {known}")
        param = stack.params[name]
        full = torch.ones_like(param, requires_grad=False)
        for k, m in enumerate(masks):
            if m and name in m:
                if tuple(m[name].shape) != tuple(param.shape[1:]):
                    raise UserError(f"mask for {name!r} has shape {tuple(m[name].shape)}, the weight "
                                    f"has {tuple(param.shape[1:])}")
                full[k].copy_(m[name].to(full.device, full.dtype))
        out[name] = full
    return out


class StackedSGD:
    """torch.optim.SGD (dampening 0) over stacked parameters, with per-member masks enforced."""

    def __init__(self, params: Sequence[torch.Tensor], *, momentum: float, weight_decay: float,
                 nesterov: bool = False, masks: Sequence[tuple[torch.Tensor, torch.Tensor]] = ()):
        self.params = list(params)
        self.momentum, self.weight_decay, self.nesterov = momentum, weight_decay, nesterov
        self.bufs: list[torch.Tensor] | None = None
        self.mask_params = [p for p, _ in masks]
        self.masks = [m for _, m in masks]

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def apply_masks(self) -> None:
        if self.masks:
            torch._foreach_mul_(self.mask_params, self.masks)

    @torch.no_grad()
    def step(self, lr: float | torch.Tensor) -> None:
        if self.masks:
            torch._foreach_mul_([p.grad for p in self.mask_params], self.masks)
        grads = [p.grad for p in self.params]
        if self.weight_decay:
            grads = torch._foreach_add(grads, self.params, alpha=self.weight_decay)
        if self.momentum:
            if self.bufs is None:
                self.bufs = [torch.clone(g).detach() for g in grads]
            else:
                torch._foreach_mul_(self.bufs, self.momentum)
                torch._foreach_add_(self.bufs, grads)
            grads = torch._foreach_add(grads, self.bufs, alpha=self.momentum) if self.nesterov else self.bufs
        if isinstance(lr, torch.Tensor):  # CUDA-graph path: lr is a device tensor updated between replays
            torch._foreach_add_(self.params, torch._foreach_mul(grads, -lr))
        else:
            torch._foreach_add_(self.params, grads, alpha=-lr)
        self.apply_masks()


class PackedLoader:
    """One training set on one device, batched for K members at once, each with its own generator."""

    def __init__(self, loader: DeviceLoader, generators: Sequence[torch.Generator]):
        self.loader = loader
        self.generators = list(generators)

    def __len__(self) -> int:
        return len(self.loader)

    def _draw(self, sample: Callable[[torch.device, torch.Generator], torch.Tensor]) -> torch.Tensor:
        dev = self.loader.device
        return torch.stack([sample(g.device, g).to(dev, non_blocking=True) for g in self.generators])

    def epoch(self):
        """Yield (x [K, B, C, H, W] normalised float, y [K, B]) for one epoch of every member."""
        ld = self.loader
        n, bs, pad = ld.num_samples, ld.batch_size, ld.padding
        perms = self._draw(lambda d, g: torch.randperm(n, generator=g, device=d))  # [K, N]
        k = len(self.generators)
        for start in range(0, n, bs):
            idx = perms[:, start:start + bs]  # [K, b]
            b = idx.shape[1]
            xb, yb = ld.x[idx.reshape(-1)], ld.y[idx]  # [K*b, C, H, W], [K, b]
            if pad:
                # Same draw order per generator as batches.random_crop then batches.random_flip.
                offsets, flips = [], []
                for g in self.generators:
                    offsets.append(torch.randint(0, 2 * pad + 1, (2, b), generator=g, device=g.device))
                    flips.append(torch.rand(b, generator=g, device=g.device) < 0.5)
                off = torch.cat([o.to(ld.device) for o in offsets], dim=1)  # [2, K*b]
                flip = torch.cat([f.to(ld.device) for f in flips])
                xb = _crop(xb, pad, off)
                xb = torch.where(flip.view(-1, 1, 1, 1), xb.flip(3), xb)
            x = torch.addcmul(ld.shift, xb.float(), ld.scale)
            yield x.view(k, b, *x.shape[1:]), yb


def _crop(x: torch.Tensor, padding: int, offsets: torch.Tensor) -> torch.Tensor:
    """Crop each sample of x (zero-padded by `padding`) at its (row, col) offset."""
    n, c, h, w = x.shape
    padded = F.pad(x, (padding,) * 4)
    rows = (offsets[0, :, None] + torch.arange(h, device=x.device)).view(n, 1, h, 1)
    cols = (offsets[1, :, None] + torch.arange(w, device=x.device)).view(n, 1, 1, w)
    return padded[torch.arange(n, device=x.device).view(n, 1, 1, 1),
                  torch.arange(c, device=x.device).view(1, c, 1, 1), rows, cols]


@dataclass
class PackedResult:
    """One History per member (same fields as the single-run engine's) and the trained states."""

    histories: list[History]
    states: list[dict[str, torch.Tensor]]
    step_losses: list[list[float]]  # per member, the mean training loss of every step (if recorded)
    images_per_second: float  # aggregate over members, training steps only


def make_generators(seeds: Sequence[int], device: torch.device) -> list[torch.Generator]:
    """One data-order generator per member, seeded like a separate run would seed its own."""
    gen_device = device if device.type == "cuda" else torch.device("cpu")
    return [torch.Generator(gen_device).manual_seed(int(s)) for s in seeds]


class PackedTrainer:
    """Holds the stacked model, optimiser and loader; `step(x, y)` is one training step of all members."""

    def __init__(self, models: Sequence[nn.Module], data: Any, config: Any, *,
                 masks: Sequence[Mask | None] | None = None, generators: Sequence[torch.Generator],
                 device: Any = None, train_view: Any = None, cuda_graph: bool = False):
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.config = config.validate()
        self.stack = StackedModel(models, self.device)
        masks = list(masks) if masks is not None else [None] * self.stack.k
        smasks = stacked_masks(self.stack, masks)
        self.opt = StackedSGD(list(self.stack.params.values()), momentum=config.momentum,
                              weight_decay=config.weight_decay, nesterov=config.nesterov,
                              masks=[(self.stack.params[n], m) for n, m in smasks.items()])
        self.opt.apply_masks()
        if getattr(data, "streaming", False) or getattr(train_view, "streaming", False):
            raise UserError(f"packed training needs a device-resident dataset; {data.info.name} is streamed "
                            f"from files (run its stages unpacked)")
        x, y = training_tensors(data, train_view)
        base = DeviceLoader(x, y, data.info, config.batch_size, self.device, config.augment, False)
        if len(generators) != self.stack.k:
            raise UserError(f"got {len(generators)} generators for {self.stack.k} packed runs")
        self.loader = PackedLoader(base, generators)
        self.data = data
        self.amp = autocast_dtype(config, self.device)
        self.cuda_graph = bool(cuda_graph) and self.device.type == "cuda"
        self._graph = None

    def _loss(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(sum over members of each member's mean loss, per-member [loss sum, correct] [K, 2])."""
        # autocast's weight-cast cache must be off inside CUDA-graph capture (torch.cuda.graph docs)
        with torch.autocast(self.device.type, dtype=self.amp or torch.bfloat16, enabled=self.amp is not None,
                            cache_enabled=not self.cuda_graph):
            logits = self.stack.forward_train(x)
        k, b, c = logits.shape
        per_sample = F.cross_entropy(logits.float().reshape(k * b, c), y.reshape(-1), reduction="none").view(k, b)
        stats = torch.stack([per_sample.detach().sum(1), (logits.detach().argmax(2) == y).sum(1).float()], 1)
        return per_sample.mean(1).sum(), stats

    def step(self, x: torch.Tensor, y: torch.Tensor, lr: float) -> torch.Tensor:
        """One step for every member; returns per-member [loss sum, correct] (on device, no sync)."""
        if self.cuda_graph and x.shape[1] == self.config.batch_size:
            return self._graph_step(x, y, lr)
        self.opt.zero_grad()
        loss, stats = self._loss(x, y)
        loss.backward()
        self.opt.step(lr)
        return stats

    def _graph_step(self, x: torch.Tensor, y: torch.Tensor, lr: float) -> torch.Tensor:
        """CUDA-graph replay of the full step (captured on first use after a few eager warm-up steps).
        Untested: written without a GPU; see the module docstring."""
        if self._graph is None:
            self._static_x, self._static_y = x.clone(), y.clone()
            self._static_lr = torch.tensor(float(lr), device=self.device)
            # warm-up steps train on this batch; undo them afterwards (in place: the graph keeps
            # pointers to these tensors) so the captured run sees exactly the state it would have.
            state = [t for t in (*self.stack.params.values(), *self.stack.buffers.values())]
            saved = [t.detach().clone() for t in state]
            had_bufs = self.opt.bufs is not None
            saved_bufs = [b.clone() for b in self.opt.bufs] if had_bufs else None
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):  # eager warm-up on a side stream, as torch.cuda.graph requires
                for _ in range(3):
                    self.opt.zero_grad()
                    loss, _ = self._loss(self._static_x, self._static_y)
                    loss.backward()
                    self.opt.step(self._static_lr)
            torch.cuda.current_stream().wait_stream(side)
            self.opt.zero_grad()
            self._graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(self._graph):
                loss, self._static_stats = self._loss(self._static_x, self._static_y)
                loss.backward()
                self.opt.step(self._static_lr)
            with torch.no_grad():  # capture ran nothing; restore what the warm-up changed
                for t, v in zip(state, saved):
                    t.copy_(v)
                for b, v in zip(self.opt.bufs, saved_bufs or [None] * len(self.opt.bufs)):
                    b.copy_(v) if v is not None else b.zero_()  # zero buffer == torch's first step
        self._static_x.copy_(x, non_blocking=True)
        self._static_y.copy_(y, non_blocking=True)
        self._static_lr.fill_(float(lr))
        self._graph.replay()
        return self._static_stats.clone()

    @torch.no_grad()
    def evaluate(self) -> torch.Tensor:
        """Per-member [test loss, test accuracy %] [K, 2] on the true test set."""
        bs = getattr(self.config, "eval_batch_size", 1000)
        totals = torch.zeros(self.stack.k, 2, device=self.device)
        n = 0
        for xb, yb in eval_batches(self.data, bs, self.device):
            with torch.autocast(self.device.type, dtype=self.amp or torch.bfloat16, enabled=self.amp is not None):
                logits = self.stack.forward_eval(xb).float()
            k, b, c = logits.shape
            loss = F.cross_entropy(logits.reshape(k * b, c), yb.repeat(k), reduction="none").view(k, b)
            totals += torch.stack([loss.sum(1), (logits.argmax(2) == yb).sum(1).float()], 1)
            n += b
        totals = totals.double()
        return torch.stack([totals[:, 0] / n, 100.0 * totals[:, 1] / n], 1)


def train_packed(models: Sequence[nn.Module], data: Any, config: Any, *,
                 masks: Sequence[Mask | None] | None = None, seeds: Sequence[int] | None = None,
                 generators: Sequence[torch.Generator] | None = None, device: Any = None,
                 train_view: Any = None, phase: str = "train", max_steps: int | None = None,
                 record_steps: bool = False, evaluate: bool = True, cuda_graph: bool = False) -> PackedResult:
    """Train `models` (one per member, same architecture, each initialised from its own seed) as one
    stacked model for `config.epochs` epochs (or `max_steps` steps in total, for benchmarks).

    Data order: member k uses `generators[k]` if given, else a fresh generator seeded with `seeds[k]`
    (default 0..K-1). Returns one History per member plus each member's final state dict."""
    if getattr(config, "val_split", 0.0) > 0:
        from registry.errors import UserError

        raise UserError("packed training has no validation split; train with val_split=0 or unpacked")
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    k = len(models)
    if generators is None:
        generators = make_generators(list(seeds) if seeds is not None else range(k), device)
    trainer = PackedTrainer(models, data, config, masks=masks, generators=generators, device=device,
                            train_view=train_view, cuda_graph=cuda_graph)
    records: list[list[EpochRecord]] = [[] for _ in range(k)]
    step_losses: list[list[float]] = [[] for _ in range(k)]
    steps_done, images, train_time = 0, 0, 0.0
    for epoch in range(config.epochs):
        lr = lr_at(config, epoch)
        start = time.perf_counter()
        totals = torch.zeros(k, 2, device=device)
        seen = 0
        for x, y in trainer.loader.epoch():
            stats = trainer.step(x, y, lr)
            totals += stats
            seen += y.shape[1]
            if record_steps:
                step_losses_now = (stats[:, 0] / y.shape[1]).tolist()  # a host sync: tests only
                for i in range(k):
                    step_losses[i].append(step_losses_now[i])
            steps_done += 1
            if max_steps is not None and steps_done >= max_steps:
                break
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        train_time += time.perf_counter() - start
        images += seen * k
        train = totals.double().cpu()
        test = trainer.evaluate().cpu() if evaluate else torch.full((k, 2), math.nan, dtype=torch.float64)
        seconds = time.perf_counter() - start
        for i in range(k):
            records[i].append(EpochRecord(phase=phase, epoch=epoch + 1, train_loss=float(train[i, 0] / seen),
                                          train_acc=float(100.0 * train[i, 1] / seen),
                                          test_loss=float(test[i, 0]), test_acc=float(test[i, 1]),
                                          lr=lr, seconds=seconds))
        if max_steps is not None and steps_done >= max_steps:
            break
    histories = [History.from_records(phase, r) for r in records] if records[0] else []
    states = [trainer.stack.state_dict(i) for i in range(k)]
    return PackedResult(histories, states, step_losses, images / train_time if train_time else 0.0)
