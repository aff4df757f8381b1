"""Adversarial accuracy under FGSM and PGD (L∞), through torchattacks.

torchattacks perturbs images in [0, 1] and needs a model that takes them, so the trained network
is wrapped with the dataset's normalisation in front (`PixelModel`); ε and the step size are then
in pixel units (8/255 means 8 grey levels), the convention of the adversarial-robustness
literature. PGD starts from a seeded random point in the ε-ball (torchattacks' random_start)."""
from __future__ import annotations

from typing import Any

import torch
from torch import nn


class PixelModel(nn.Module):
    """net(normalise(x)) for x in [0, 1]: the form torchattacks attacks."""

    def __init__(self, net: nn.Module, mean, std):
        super().__init__()
        self.net = net
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net((x - self.mean) / self.std)


def make_attack(name: str, model: nn.Module, *, eps: float, alpha: float | None = None,
                steps: int | None = None) -> Any:
    import torchattacks

    if name == "fgsm":
        return torchattacks.FGSM(model, eps=eps)
    if name == "pgd":
        return torchattacks.PGD(model, eps=eps, alpha=alpha, steps=steps, random_start=True)
    raise ValueError(f"unknown attack {name!r}")


def adversarial_accuracy(attack: Any, model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                         batch_size: int = 500, seed: int = 0) -> float:
    """Percent of `images` (float in [0, 1]) still classified correctly after the attack."""
    torch.manual_seed(seed)
    model.eval()
    hits = 0
    for start in range(0, len(images), batch_size):
        x, y = images[start:start + batch_size], labels[start:start + batch_size]
        adv = attack(x, y)
        with torch.no_grad():
            hits += int((model(adv).argmax(dim=1) == y).sum())
    return 100.0 * hits / max(len(images), 1)
