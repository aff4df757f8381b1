"""Wide ResNets for CIFAR (Zagoruyko & Komodakis, 2016), WRN-d-k: depth d = 6n + 4, widen factor k.

Pre-activation basic blocks (BN-ReLU-conv3x3, twice), stages of 16k, 32k, 64k channels after a
16-channel stem, a 1×1 conv shortcut where the shape changes, BN-ReLU, global average pool, linear.
Registered: `wrn28_10` (36.5 M parameters), and `wrn` with `depth` and `widen` options for sweeps
(`wrn16_8`, `wrn28_10` are the usual CIFAR points). Dropout is left out (the Random Pruning
paper's sparse training uses none; the released code's WideResNet class defaults to 0.3 but its
CIFAR script never builds one). He-normal (fan_out) convs, BN 1/0, zero linear bias."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from registry.errors import UserError
from tickets.data.info import DatasetInfo
from tickets.models.base import register_model


class PreActBlock(nn.Module):
    def __init__(self, in_planes: int, planes: int, stride: int):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.shortcut = None
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(x))
        shortcut = x if self.shortcut is None else self.shortcut(out)
        out = self.conv1(out)
        out = self.conv2(F.relu(self.bn2(out)))
        return out + shortcut


class WideResNet(nn.Module):
    def __init__(self, depth: int, widen: int, in_channels: int, num_classes: int):
        super().__init__()
        n = (depth - 4) // 6
        widths = [16, 16 * widen, 32 * widen, 64 * widen]
        self.conv1 = nn.Conv2d(in_channels, widths[0], 3, stride=1, padding=1, bias=False)
        blocks, planes = [], widths[0]
        for stage, stride in zip(range(1, 4), (1, 2, 2)):
            for i in range(n):
                blocks.append(PreActBlock(planes, widths[stage], stride if i == 0 else 1))
                planes = widths[stage]
        self.blocks = nn.Sequential(*blocks)
        self.bn = nn.BatchNorm2d(planes)
        self.fc = nn.Linear(planes, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn(self.blocks(self.conv1(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(out, 1), 1))


def _checked(depth, widen) -> tuple[int, int]:
    for name, value in (("depth", depth), ("widen", widen)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not float(value).is_integer() or value < 1:
            raise UserError(f"wrn option {name} must be a positive integer, got {value!r}")
    if (int(depth) - 4) % 6 or depth < 10:
        raise UserError(f"wrn depth must be 6n+4 (10, 16, 22, 28, 40, ...), got {depth}")
    return int(depth), int(widen)


@register_model("wrn", family="resnet", options={"depth": 28, "widen": 10},
                description="CIFAR Wide ResNet WRN-depth-widen (pre-activation), default WRN-28-10")
def wrn(info: DatasetInfo, depth: int = 28, widen: int = 10) -> nn.Module:
    d, k = _checked(depth, widen)
    return WideResNet(d, k, info.channels, info.num_classes)


@register_model("wrn28_10", family="resnet", description="CIFAR Wide ResNet-28-10 (pre-activation)")
def wrn28_10(info: DatasetInfo) -> nn.Module:
    return WideResNet(28, 10, info.channels, info.num_classes)
