"""Learning-rate schedules, optimiser parameter groups and the training loss of a TrainConfig: what
the ImageNet recipes add to the seed paper's SGD + MultiStepLR (issue 18).

- `schedule="step"` without warmup is torch's MultiStepLR exactly as before (its chained
  multiplications are what every stored CIFAR result was trained with, so that path is kept
  bitwise); with `warmup_epochs` W > 0 or `schedule="cosine"` the rate is base_lr x `lr_factor`:
  * warmup, epoch e < W (0-based): (e + 1) / (W + 1), the Random Pruning ImageNet code's epoch-wise
    linear warmup (W=5: 1/6, 2/6, ..., 5/6 of the rate, full rate from epoch 5);
  * step: gamma ** (number of milestones <= e), as that code's `lr * 0.1 ** p`;
  * cosine: 0.5 (1 + cos(pi (e - W) / (E - W))), once per epoch, from the full rate towards 0.
- `bn_weight_decay=False`: BatchNorm scales and shifts get no weight decay (the Random Pruning code's
  default; its name test `'bn' in name` also exempts every BN it names bn*, here every BN module).
- `label_smoothing`: torch's cross-entropy label smoothing, training loss only (evaluation reports
  the plain cross-entropy, as the released codes' validation does)."""
from __future__ import annotations

import bisect
import math
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    import torch
    from torch import nn

from tickets.config import SCHEDULES  # noqa: F401  (the names validated by TrainConfig)

# TrainConfig fields added by the ImageNet recipes, with the value that means "as before"
RECIPE_DEFAULTS = {"schedule": "step", "warmup_epochs": 0, "label_smoothing": 0.0, "bn_weight_decay": True}


def lr_factor(config, epoch: int) -> float:
    """The multiple of the base rate used during 0-based `epoch`."""
    warmup = int(config.warmup_epochs)
    if epoch < warmup:
        return (epoch + 1) / (warmup + 1)
    if config.schedule == "cosine":
        span = max(1, int(config.epochs) - warmup)
        return 0.5 * (1.0 + math.cos(math.pi * min(epoch - warmup, span) / span))
    return float(config.gamma) ** bisect.bisect_right(list(config.milestones), epoch)


def make_scheduler(optimizer: "torch.optim.Optimizer", config) -> "torch.optim.lr_scheduler.LRScheduler":
    import torch

    if config.schedule == "step" and not config.warmup_epochs:
        return torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=list(config.milestones), gamma=config.gamma)

    def factor(epoch: int) -> float:
        return lr_factor(config, epoch)

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def param_groups(model: "nn.Module", config) -> Any:
    """`model.parameters()` (as before), or two groups with BN parameters exempt from weight decay."""
    if getattr(config, "bn_weight_decay", True):
        return model.parameters()
    from torch import nn

    norm = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)
    bn_ids = {id(p) for m in model.modules() if isinstance(m, norm) for p in m.parameters(recurse=False)}
    params = list(model.parameters())
    return [{"params": [p for p in params if id(p) not in bn_ids]},
            {"params": [p for p in params if id(p) in bn_ids], "weight_decay": 0.0}]


def loss_options(config) -> dict[str, Any]:
    """Keyword arguments of the training cross-entropy ({} for the plain loss, so its call is unchanged)."""
    smoothing = float(getattr(config, "label_smoothing", 0.0))
    return {"label_smoothing": smoothing} if smoothing > 0 else {}


def packable(train: Mapping[str, Any]) -> bool:
    """Whether stacked (packed) training reproduces this schedule: it implements MultiStepLR, the plain
    loss, weight decay everywhere and no fp16 loss scaling only."""
    return all(train.get(k, v) == v for k, v in RECIPE_DEFAULTS.items()) and train.get("precision") != "fp16"
