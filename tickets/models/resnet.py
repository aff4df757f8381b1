"""CIFAR ResNets (depth 6n+2) as in the paper: the 2x-wide variant by default.

`width` is the channel count of the first stage (the stem has the same width; stages are width,
2·width, 4·width). Its default, 32, is the paper's 2x width (the original CIFAR ResNet uses 16),
so every family member, not only resnet32, follows the paper's convention. With width=32 and 10
classes resnet32 has 1,855,584 conv + linear weights."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from registry.errors import UserError
from tickets.data.info import DatasetInfo
from tickets.models.base import register_model


class BasicBlock(nn.Module):
    """Two bias-free 3x3 convs with BN; a 1x1 conv + BN shortcut where stride or width changes.

    The shortcut is registered after conv2/bn2 so that in prunable-layer order it follows the
    block's second conv, as in the paper's code."""

    def __init__(self, in_planes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False),
                nn.BatchNorm2d(planes),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class CifarResNet(nn.Module):
    def __init__(self, depth: int, in_channels: int, num_classes: int, width: int = 32):
        super().__init__()
        if (depth - 2) % 6:
            raise ValueError(f"CIFAR ResNet depth must be 6n+2, got {depth}")
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(in_channels, width, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        planes = width
        self.layer1 = self._stage(planes, width, n, stride=1)
        self.layer2 = self._stage(width, 2 * width, n, stride=2)
        self.layer3 = self._stage(2 * width, 4 * width, n, stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4 * width, num_classes)
        self.reset_parameters()

    @staticmethod
    def _stage(in_planes: int, planes: int, blocks: int, stride: int) -> nn.Sequential:
        layers = [BasicBlock(in_planes, planes, stride)]
        layers += [BasicBlock(planes, planes, 1) for _ in range(blocks - 1)]
        return nn.Sequential(*layers)

    def reset_parameters(self) -> None:
        """Kaiming normal (fan_out) convs, BN weight 1 bias 0, Linear N(0, 0.01) with zero bias."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        return self.fc(torch.flatten(self.avgpool(out), 1))


def _resnet(depth: int):
    def build(info: DatasetInfo, width: int = 32) -> nn.Module:
        integral = isinstance(width, (int, float)) and not isinstance(width, bool) and float(width).is_integer()
        if not integral or width < 1:
            raise UserError(f"resnet{depth} option width must be a positive integer "
                            f"(channels of the first stage; the paper uses 32), got {width!r}")
        return CifarResNet(depth, info.channels, info.num_classes, width=int(width))

    build.__name__ = f"resnet{depth}"
    build.__doc__ = f"CIFAR ResNet-{depth} (n={(depth - 2) // 6} blocks per stage), stages width/2w/4w."
    return build


for _depth in (20, 32, 56, 110):
    register_model(f"resnet{_depth}", family="resnet", options={"width": 32},
                   description=f"CIFAR ResNet-{_depth}, stages 32/64/128 at the paper's 2x width")(
        _resnet(_depth))
