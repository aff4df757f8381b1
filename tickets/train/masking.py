"""Keep pruned weights exactly zero during training.

Zeroing the weights once is not enough: SGD's weight decay and momentum would move them again.
So we (1) zero the masked weights at the start, (2) zero their gradients before every optimiser
step (with a zero weight and a zero gradient, weight decay adds 0 and the momentum buffer stays
0), and (3) multiply the weights by the mask after the step as a cheap guarantee. Masks are cached
once as float tensors in each parameter's dtype and memory format; each enforcement is one
`torch._foreach_mul_` over all masked parameters."""
from __future__ import annotations

from typing import Mapping

import torch
from torch import nn

from registry.errors import UserError

Mask = Mapping[str, torch.Tensor]


def check_mask(model: nn.Module, mask: Mask | None) -> dict[str, torch.Tensor] | None:
    """Validate names and shapes; return the mask as CPU bool tensors (what checkpoints store)."""
    if mask is None:
        return None
    params = dict(model.named_parameters())
    out = {}
    for name, m in mask.items():
        if name not in params:
            known = ", ".join(n for n, p in params.items() if p.dim() > 1)
            raise UserError(f"mask names unknown parameter {name!r}; prunable weights: {known}")
        if tuple(m.shape) != tuple(params[name].shape):
            raise UserError(f"mask for {name!r} has shape {tuple(m.shape)}, the weight has "
                            f"{tuple(params[name].shape)}")
        out[name] = m.detach().to("cpu").bool().contiguous()
    return out


def masks_equal(a: Mask | None, b: Mask | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return a.keys() == b.keys() and all(torch.equal(a[k].cpu().bool(), b[k].cpu().bool()) for k in a)


class MaskEnforcer:
    """Applies a mask to a model's parameters and gradients; a no-op without a mask."""

    def __init__(self, model: nn.Module, mask: Mask | None):
        params = dict(model.named_parameters())
        names = list(mask or {})
        self.params = [params[n] for n in names]
        # empty_like keeps the parameter's device, dtype and memory format (channels_last).
        self.masks = [torch.empty_like(params[n]).copy_(mask[n]) for n in names]

    def __bool__(self) -> bool:
        return bool(self.params)

    @torch.no_grad()
    def apply(self) -> None:
        if self.params:
            torch._foreach_mul_(self.params, self.masks)

    @torch.no_grad()
    def mask_grads(self) -> None:
        pairs = [(p.grad, m) for p, m in zip(self.params, self.masks) if p.grad is not None]
        if pairs:
            grads, masks = zip(*pairs)
            torch._foreach_mul_(list(grads), list(masks))

    @torch.no_grad()
    def mask_optimizer_state(self, optimizer: torch.optim.Optimizer) -> None:
        """Zero momentum buffers at pruned positions (they start at zero; this covers resumed or
        handed-over optimiser state)."""
        for p, m in zip(self.params, self.masks):
            buf = optimizer.state.get(p, {}).get("momentum_buffer")
            if buf is not None:
                buf.mul_(m)
