"""The classic small networks for 28x28 grayscale images (MNIST, Fashion-MNIST).

Both keep PyTorch's default layer initialisation (Kaiming uniform), seeded by the caller."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from tickets.data.info import DatasetInfo
from tickets.models.base import register_model

GRAY28 = (1, 28, 28)


class LeNet300(nn.Module):
    """784-300-100-C fully connected network with ReLU."""

    def __init__(self, num_classes: int):
        super().__init__()
        self.fc1 = nn.Linear(28 * 28, 300)
        self.fc2 = nn.Linear(300, 100)
        self.fc3 = nn.Linear(100, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.flatten(x, 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


class LeNet5(nn.Module):
    """conv 6 (5x5, padding 2) - pool - conv 16 (5x5) - pool - 120 - 84 - C, ReLU + max-pool."""

    def __init__(self, num_classes: int):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


@register_model("lenet300", family="mlp", input_shape=GRAY28,
                description="784-300-100-C fully connected, ReLU (28x28 grayscale)")
def lenet300(info: DatasetInfo) -> nn.Module:
    return LeNet300(info.num_classes)


@register_model("lenet5", family="lenet", input_shape=GRAY28,
                description="LeNet-5: conv 6/16, fc 120/84/C (28x28 grayscale)")
def lenet5(info: DatasetInfo) -> nn.Module:
    return LeNet5(info.num_classes)
