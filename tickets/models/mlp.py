"""A fully connected network of adjustable width and depth for 28×28 grayscale images: the CPU-sized
stand-in for the Random Pruning paper's width and depth sweeps (studies/random_pruning_cpu.py).

`mlp`: 784 → `depth` hidden layers of `width` ReLU units → C. The defaults (depth 2, width 100)
are a LeNet-300-100 sized network; PyTorch's default (Kaiming uniform) initialisation, seeded by
the caller."""
from __future__ import annotations

import torch
from torch import nn

from registry.errors import UserError
from tickets.data.info import DatasetInfo
from tickets.models.base import register_model

GRAY28 = (1, 28, 28)


class Mlp(nn.Module):
    def __init__(self, num_classes: int, width: int, depth: int):
        super().__init__()
        sizes = [28 * 28] + [width] * depth
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes, sizes[1:]))
        self.fc = nn.Linear(sizes[-1], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.flatten(x, 1)
        for layer in self.hidden:
            x = torch.relu(layer(x))
        return self.fc(x)


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not float(value).is_integer() or value < 1:
        raise UserError(f"mlp option {name} must be a positive integer, got {value!r}")
    return int(value)


@register_model("mlp", family="mlp", options={"width": 100, "depth": 2}, input_shape=GRAY28,
                description="784 -> depth x width (ReLU) -> C fully connected; width/depth sweeps on CPU")
def mlp(info: DatasetInfo, width: int = 100, depth: int = 2) -> nn.Module:
    return Mlp(info.num_classes, _positive_int("width", width), _positive_int("depth", depth))
