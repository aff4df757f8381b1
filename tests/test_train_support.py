"""Tiny data and model shared by the training-engine tests (no tests here).

The data is TensorData-shaped by duck typing (info, uint8 x_train/x_test [N,C,H,W], int64 labels),
learnable (the class shifts the brightness) and small enough that an epoch takes milliseconds."""
from __future__ import annotations

from types import SimpleNamespace

import torch
from torch import nn


def tiny_data(n_train: int = 256, n_test: int = 128, channels: int = 3, size: int = 8, classes: int = 4,
              crop_padding: int = 1, seed: int = 0) -> SimpleNamespace:
    g = torch.Generator().manual_seed(seed)

    def split(n):
        y = torch.randint(0, classes, (n,), generator=g)
        x = (torch.rand(n, channels, size, size, generator=g) * 80 + y.view(-1, 1, 1, 1) * 50).to(torch.uint8)
        return x, y

    x_train, y_train = split(n_train)
    x_test, y_test = split(n_test)
    info = SimpleNamespace(name="tiny", channels=channels, size=size, num_classes=classes,
                           mean=(0.5,) * channels, std=(0.25,) * channels, crop_padding=crop_padding)
    return SimpleNamespace(info=info, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)


class TinyNet(nn.Module):
    def __init__(self, channels: int = 3, classes: int = 4, width: int = 8):
        super().__init__()
        self.conv = nn.Conv2d(channels, width, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1, bias=False)
        self.fc = nn.Linear(width, classes)

    def forward(self, x):
        x = torch.relu(self.bn(self.conv(x)))
        x = torch.relu(self.conv2(x))
        return self.fc(x.mean((2, 3)))


def tiny_model(seed: int = 0) -> TinyNet:
    torch.manual_seed(seed)  # callers seed torch before building the model
    return TinyNet()


def half_mask(model: nn.Module, seed: int = 1) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {name: torch.rand(p.shape, generator=g) < 0.5
            for name, p in model.named_parameters() if name in ("conv.weight", "conv2.weight", "fc.weight")}


def states_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k].cpu(), b[k].cpu()) for k in a)


def metrics(history) -> list[tuple]:
    return [r.metrics() for r in history.records]
