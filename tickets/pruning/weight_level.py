"""Non-structured (weight-level) magnitude pruning as "Rethinking the Value of Network Pruning" runs
it (its released cifar/weight-level/, after Han et al., 2015), with the paper's three pipelines.

Facts carried over from the released code:

- which weights (cifar_prune.py): the weights of every `nn.Conv2d`, no linear layer; one global
  threshold over all of them: the sorted |w| at index int(total x percent), weights strictly above
  it kept (so the weight at the threshold, and every weight tied with it, is pruned too).
- `finetune` (cifar_finetune.py): the trained network's surviving weights, trained with the
  fine-tuning schedule: 40 epochs, lr 0.001 constant, batch 64 (the cell's `retrain`, the same
  default as the structured pipelines, `tickets.pruning.structured.methods.FINETUNE_SCHEDULE`).
- `scratch_e` (cifar_E.py): a fresh network whose conv weights are re-drawn N(0, sqrt(2 / n)) with
  n = (kept weights of the layer) / in_channels, then masked; the large model's schedule.
- `scratch_b` (cifar_B.py): the same start, int(epochs x dense FLOPs / sparse FLOPs) epochs with
  the milestones at the same fractions, FLOPs counted as its count_flops.py does (`released_flops`:
  2 x the non-zero conv weights x output positions + conv bias, linear 2 x weights + bias, BN
  2 x input elements, ReLU input elements, pooling kernel x output elements). The ratio is capped
  at `max_scale` (2), the paper's rule for Scratch-B (Section 4), as for the structured methods.
  The released cifar_B.py counts the small network before loading the pruned weights into it (its
  ratio would be 1); the paper's budget is the pruned network's, which is what is counted here.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Mapping

from registry.atomic import write_json
from registry.errors import UserError
from tickets.pruning import steps
from tickets.pruning.methods import METHODS, SCRATCH_SEED_OFFSET, Method

if TYPE_CHECKING:
    import torch
    from torch import nn

RETRAINS = ("finetune", "scratch_e", "scratch_b")


def conv_weights(model: "nn.Module") -> list[tuple[str, "torch.Tensor"]]:
    from torch import nn

    return [(f"{name}.weight", m.weight) for name, m in model.named_modules() if isinstance(m, nn.Conv2d)]


def conv_magnitude_mask(model: "nn.Module", percent: float, name: str = "") -> dict[str, "torch.Tensor"]:
    """cifar_prune.py's mask: one global threshold over |w| of every conv weight, keep > threshold."""
    import torch

    weights = conv_weights(model)
    if not weights:
        raise UserError(f"method weight_level prunes conv weights only and model {name or type(model).__name__} "
                        f"has no conv layer; use a convolutional network (e.g. cnn_small)")
    flat = torch.cat([w.detach().abs().flatten().cpu() for _, w in weights])
    threshold = torch.sort(flat).values[int(flat.numel() * percent)]
    return {n: (w.detach().abs().cpu() > threshold) for n, w in weights}


def released_init(model: "nn.Module", mask: Mapping[str, "torch.Tensor"]) -> "nn.Module":
    """cifar_E.py / cifar_B.py's start: every masked conv re-drawn N(0, sqrt(2 / (kept / in_channels)))
    from the global generator, then masked."""
    import torch

    with torch.no_grad():
        for name, w in conv_weights(model):
            if name not in mask:
                continue
            m = mask[name].to(w.device, w.dtype)
            in_channels = w.shape[1]
            n = float(m.sum()) / in_channels
            if n > 0:
                w.normal_(0.0, math.sqrt(2.0 / n))
            w.mul_(m)
    return model


def released_flops(model: "nn.Module", input_shape: tuple[int, ...], dense: bool = False) -> int:
    """FLOPs as the released count_flops.py counts them (one input, multiply-adds counted as 2):
    conv (2 x non-zero weights + out_channels if biased) x output positions, linear 2 x weights +
    bias, BatchNorm2d 2 x input elements, ReLU input elements, max/avg pooling k^2 x output
    elements. Functional ops (F.relu, F.avg_pool2d) have no module and are not counted, as there.
    `dense`: every conv weight counted (the unpruned network's FLOPs)."""
    from torch import nn

    from tickets.pruning.structured.cost import forward_once

    total = [0.0]
    hooks = []

    def conv_hook(m, inputs, output):
        nonzero = float(m.weight.numel() if dense else (m.weight != 0).sum())
        bias = m.out_channels if m.bias is not None else 0
        total[0] += (2 * nonzero + bias) * math.prod(output.shape[2:]) * output.shape[0]

    def linear_hook(m, inputs, output):
        batch = inputs[0].shape[0] if inputs[0].dim() == 2 else 1
        total[0] += batch * (2 * m.weight.numel() + (m.bias.numel() if m.bias is not None else 0))

    def bn_hook(m, inputs, output):
        total[0] += 2 * inputs[0].numel()

    def relu_hook(m, inputs, output):
        total[0] += inputs[0].numel()

    def pool_hook(m, inputs, output):
        k = m.kernel_size
        total[0] += (k * k if isinstance(k, int) else math.prod(k)) * output.numel()

    for m in model.modules():
        if list(m.children()):
            continue
        hook = {nn.Conv2d: conv_hook, nn.Linear: linear_hook, nn.BatchNorm2d: bn_hook, nn.ReLU: relu_hook,
                nn.MaxPool2d: pool_hook, nn.AvgPool2d: pool_hook}.get(type(m))
        if hook is not None:
            hooks.append(m.register_forward_hook(hook))
    forward_once(model, input_shape, hooks)
    return int(total[0])


def scratch_b_epochs(epochs: int, dense_flops: int, sparse_flops: int, max_scale: float) -> int:
    """int(epochs x dense / sparse FLOPs) as cifar_B.py, the ratio capped at `max_scale`."""
    if sparse_flops <= 0:
        raise UserError("the pruned network has no FLOPs left")
    return max(1, int(epochs * min(float(max_scale), dense_flops / sparse_flops)))


@METHODS.register()
@dataclass(frozen=True)
class WeightLevel(Method):
    """Weight-level magnitude pruning of the trained network's conv weights (one global threshold),
    then `retrain`: finetune (inherited weights), scratch_e or scratch_b (fresh weights, the mask)."""

    name = "weight_level"
    summary = "non-structured conv-weight magnitude pruning (Rethinking), fine-tuned or from scratch"
    needs_pretrain = True
    uses_data = False
    has_retrain: ClassVar[bool] = True  # the cell's `retrain` schedule reaches this method
    retrain: str = "finetune"
    max_scale: float = 2.0

    @property
    def uses_retrain_schedule(self) -> bool:
        return self.retrain == "finetune"

    def validate(self):
        if self.retrain not in RETRAINS:
            raise UserError(f"method {self.name}: retrain must be one of {', '.join(RETRAINS)}, got {self.retrain!r}")
        if isinstance(self.max_scale, bool) or not isinstance(self.max_scale, (int, float)) or self.max_scale < 1:
            raise UserError(f"method {self.name}: max_scale must be >= 1, got {self.max_scale!r}")
        return self

    def check_layers(self, model: str, layers) -> None:
        """Plan-time (the domain's cached layer shapes): the network has conv weights to prune."""
        if not any(len(shape) == 4 for _, shape in layers):
            raise UserError(f"method weight_level prunes conv weights only and model {model} has no conv "
                            f"layer; use a convolutional network (e.g. cnn_small)")

    def rule(self) -> dict[str, Any]:
        return {"method": self.name, **self.options()}

    def run(self, ctx):
        trained = steps.pretrained_model(ctx)
        mask = steps.prune(ctx, lambda: conv_magnitude_mask(trained, ctx.sparsity, ctx.model_name))
        if self.retrain == "finetune":
            return steps.retrain(ctx, trained, mask, config=ctx.retrain_config or ctx.config)
        return train_from_scratch(ctx, mask, budget=self.retrain == "scratch_b", max_scale=self.max_scale)


def train_from_scratch(ctx, mask, *, budget: bool, max_scale: float):
    """Scratch-E (`budget` False) or Scratch-B under `mask` from the released scratch start: the
    weight-level and soft-filter-pruning scripts share it (cifar_E/B.py, pruning_resnet_*scratch.py)."""
    fresh = released_init(steps.initial_model(ctx, seed=ctx.seed + SCRATCH_SEED_OFFSET), mask)
    config = ctx.config
    if budget:
        dense = released_flops(fresh, ctx.info.shape, dense=True)
        sparse = released_flops(fresh, ctx.info.shape)  # masked by released_init
        epochs = scratch_b_epochs(ctx.config.epochs, dense, sparse, max_scale)
        write_json(ctx.rundir / "flops.json", {"dense_flops": dense, "sparse_flops": sparse,
                                               "ratio": dense / sparse, "epochs": epochs,
                                               "convention": "released count_flops.py"})
        config = ctx.config.scaled_to(epochs)
    return steps.retrain(ctx, fresh, mask, config=config)
