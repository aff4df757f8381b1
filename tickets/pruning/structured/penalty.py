"""Network slimming's sparsity regularisation: lambda * sign(gamma) added to the gradient of every
BatchNorm scale gamma (the subgradient of lambda * sum |gamma|), nothing else touched.

Implemented as gradient hooks on the BN weights, so the ordinary training loop (checkpoints,
resume, masks) trains with it unchanged; the paper uses lambda = 1e-4 for VGG and 1e-5 for ResNets."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import nn


def bn_scales(model: "nn.Module") -> list:
    from torch import nn

    return [m.weight for m in model.modules()
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) and m.weight is not None]


def add_bn_l1(model: "nn.Module", strength: float) -> list:
    """Register the penalty on `model`'s BN scales; returns the hook handles (remove to undo)."""
    import torch

    handles = []
    if strength <= 0:
        return handles
    for weight in bn_scales(model):
        def hook(grad, weight=weight):
            return grad + strength * torch.sign(weight.detach())
        handles.append(weight.register_hook(hook))
    return handles
