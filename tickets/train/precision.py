"""fp16 mixed precision with loss scaling (issue 18): the Random Pruning ImageNet code trains with
`--fp16 --static-loss-scale 256` (apex-style fp32 master weights). Here fp16 is torch autocast with
torch.amp.GradScaler (dynamic loss scaling: steps whose scaled gradients overflow are skipped and
the scale lowered; the model's weights stay fp32, which is what master weights give). The scaler's
state is part of every checkpoint, so a resumed run continues with the same scale."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    import torch


def grad_scaler(device: "torch.device", precision: str):
    """A GradScaler for precision "fp16", else None (fp32/tf32/bf16 need no loss scaling)."""
    if precision != "fp16":
        return None
    import torch

    return torch.amp.GradScaler(device.type)


def backward_and_step(loss: "torch.Tensor", optimizer: Any, scaler: Any, before_step: Callable[[], None]) -> None:
    """loss.backward(), `before_step()` (gradient masking), optimizer.step(); through the scaler when
    there is one (masking scaled gradients is the same as masking unscaled ones: zeros stay zero)."""
    if scaler is None:
        loss.backward()
        before_step()
        optimizer.step()
        return
    scaler.scale(loss).backward()
    before_step()
    scaler.step(optimizer)
    scaler.update()
