"""Soft filter pruning (He et al., 2018) as "Rethinking the Value of Network Pruning" runs it (its
released cifar/soft-filter-pruning/), then Scratch-E / Scratch-B on the architecture it leaves.

Facts carried over from the released pruning_cifar10_resnet.py:
- which filters: every conv layer (`mask_index` = every third parameter from 0, i.e. all conv
  weights of the CIFAR ResNet, never the classifier); in each, the int(out_channels x (1 - rate))
  filters with the smallest L2 norm are set to zero (weights only: BN and the optimiser state are
  left alone, so a zeroed filter keeps training and may grow back: the pruning is "soft").
- when: once on the initial weights, then after every epoch (`epoch_prune` 1) including the last,
  before that epoch's test evaluation, which is the one recorded; the network after the last
  zeroing is the pruned result ("hard" prune: its zero filters stay zero from then on).
- Scratch-E / Scratch-B (pruning_resnet_scratch.py, pruning_resnet_longer_scratch.py): the mask of
  the final network's non-zero conv weights, conv weights re-drawn N(0, sqrt(2 / (kept / in))), the
  gradients of pruned weights masked: the weight-level code's scratch start
  (`tickets.pruning.weight_level.train_from_scratch`), FLOPs counted as its compute_flops.py.

Here the cell's sparsity is the fraction of filters zeroed (1 - the released `rate`; 0.3 for its
`--rate 0.7`). The soft-pruned training is the shared `pretrain` stage with `soft_filter` set (as
network slimming's penalised training is), so all three pipelines share it; that stage also writes
the final mask (`mask.pt`). Pipelines (`retrain`): `soft` (the SFP result: the soft-pruned network
under its final mask, evaluated, no further training), `scratch_e`, `scratch_b`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from registry.atomic import write_atomic
from registry.errors import UserError
from tickets.pruning import steps
from tickets.pruning.methods import METHODS, Method

if TYPE_CHECKING:
    import torch
    from torch import nn

RETRAINS = ("soft", "scratch_e", "scratch_b")


def filter_mask(model: "nn.Module", fraction: float) -> dict[str, "torch.Tensor"]:
    """Per conv, the int(out_channels x fraction) filters with the smallest L2 norm pruned (ties
    by filter index)."""
    import torch

    from tickets.pruning.weight_level import conv_weights

    mask = {}
    for name, w in conv_weights(model):
        norms = w.detach().flatten(1).norm(p=2, dim=1).cpu()
        pruned = torch.argsort(norms, stable=True)[:int(w.shape[0] * fraction)]
        keep = torch.ones(w.shape[0], dtype=torch.bool)
        keep[pruned] = False
        mask[name] = keep.view(-1, *([1] * (w.dim() - 1))).expand_as(w.detach().cpu()).clone()
    return mask


def zero_filters(model: "nn.Module", fraction: float) -> dict[str, "torch.Tensor"]:
    """One soft pruning step in place; returns the mask it applied."""
    from tickets.pruning.masks import apply_mask

    mask = filter_mask(model, fraction)
    apply_mask(model, mask)
    return mask


def train_soft(ctx, model):
    """The soft-pruned training (the pretrain stage with `soft_filter`), then the final mask."""
    import torch

    from tickets.pruning.weight_level import conv_weights

    fraction = ctx.soft_filter
    zero_filters(model, fraction)  # a resumed phase loads its checkpoint over this
    history = steps._train(ctx, model, ctx.config, phase=steps.PRETRAIN_PHASE, train_view=ctx.train_view(),
                           snapshots=steps.snapshot_epochs(ctx.config.epochs),
                           epoch_end=lambda net, epoch: zero_filters(net, fraction))
    mask = {n: (w.detach() != 0).cpu() for n, w in conv_weights(model)}
    write_atomic(ctx.rundir / steps.MASK_FILE, lambda fh: torch.save(mask, fh))
    steps.write_layers(ctx, model, mask)
    return history


@METHODS.register()
@dataclass(frozen=True)
class SoftFilter(Method):
    """Soft filter pruning: `retrain` soft (the soft-pruned network itself, read from the shared
    pretrain stage and evaluated), scratch_e (its architecture from scratch, same epochs) or
    scratch_b (FLOPs budget, capped at `max_scale`)."""

    name = "sfp"
    summary = "soft filter pruning's architecture (L2-norm filters zeroed every epoch), from scratch"
    needs_pretrain = True
    uses_data = False
    retrain: str = "soft"
    max_scale: float = 2.0

    def validate(self):
        if self.retrain not in RETRAINS:
            raise UserError(f"method {self.name}: retrain must be one of {', '.join(RETRAINS)}, got {self.retrain!r}")
        if isinstance(self.max_scale, bool) or not isinstance(self.max_scale, (int, float)) or self.max_scale < 1:
            raise UserError(f"method {self.name}: max_scale must be >= 1, got {self.max_scale!r}")
        return self

    def pretrain_options(self, sparsity=None):
        return {"soft_filter": float(sparsity)}

    def run(self, ctx):
        from tickets.pruning.weight_level import conv_weights, train_from_scratch

        trained = steps.pretrained_model(ctx)
        mask = steps.prune(ctx, lambda: {n: (w.detach() != 0).cpu() for n, w in conv_weights(trained)})
        if self.retrain == "soft":  # the pruned network as trained: evaluated, not trained further
            return _with_training_loss(ctx, steps.retrain(ctx, trained, mask, config=ctx.config.scaled_to(0)))
        return train_from_scratch(ctx, mask, budget=self.retrain == "scratch_b", max_scale=self.max_scale)


def _with_training_loss(ctx, history):
    """A zero-epoch phase has no training loss (NaN, which a worker refuses as divergence): the soft
    network's training metrics are its soft-pruned training's last epoch."""
    import dataclasses
    import json

    lines = (ctx.pretrain_dir / "metrics.jsonl").read_text().splitlines()
    last = [r for r in map(json.loads, lines) if r.get("phase") == steps.PRETRAIN_PHASE][-1]
    return dataclasses.replace(history, final_train_loss=last["train_loss"], final_train_acc=last["train_acc"])
