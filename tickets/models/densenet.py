"""DenseNets of "Rethinking the Value of Network Pruning" (its released cifar/ code), with the
channel configuration structured pruning needs.

As released (network-slimming/models/densenet.py, weight-level/models/cifar/densenet.py):
- stem conv3x3 (3 -> 2k), three dense blocks of n layers, a transition after the first two
  (BN - ReLU - conv1x1 to floor(C // compression) - 2x2 average pooling), final BN - ReLU - 8x8
  average pooling - Linear; growth rate k = 12; depth = 3n + 4.
- a layer is BN - ReLU - conv3x3 (C -> k) concatenated to its input ("basic"); with `bottleneck`
  BN - ReLU - conv1x1 (C -> 4k) - BN - ReLU - conv3x3 (4k -> k) (DenseNet-BC, n = (depth - 4) / 6).
- convs N(0, sqrt(2 / (k·k·out_channels))), no bias; the Linear keeps PyTorch's default init; BN
  scales start at 0.5 in the network-slimming code, 1 in the weight-level code.
- network slimming puts a channel selection after every BN that reads the concatenated features
  (each layer's first BN, each transition's, the final one): those are `select` groups here, so
  slimming removes input channels of the next conv without touching the dense concatenation.

Registered:
- `densenet40_slim`: DenseNet-40 (k = 12, basic layers, no compression) of the slimming code, BN 0.5.
- `densenet40`: the same network as the weight-level code builds it (BN scales 1).
- `densenet_bc100`: the weight-level code's "DenseNet-BC-100" (`--depth 100 --compressionRate 2`).
  Its cifar.py never passes a block type, so the released network has *basic* layers (32 per
  block) and compression 0.5, not the bottleneck layers of Huang et al.'s DenseNet-BC: that is
  what is registered (`bottleneck=True` builds the paper's BC layers, 16 per block).
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import torch
from torch import nn

from registry.errors import UserError
from tickets.data.info import DatasetInfo
from tickets.models.base import register_model
from tickets.models.structured import ChannelGroup, ChannelSelection, _entries

GROWTH = 12


class DenseLayer(nn.Module):
    def __init__(self, inplanes: int, select: list[int], growth: int, mid: int | None):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(inplanes)
        self.select = ChannelSelection(inplanes, select)
        self.relu = nn.ReLU(inplace=True)
        if mid is None:
            self.conv1 = nn.Conv2d(len(select), growth, 3, padding=1, bias=False)
        else:
            self.conv1 = nn.Conv2d(len(select), mid, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(mid)
            self.conv2 = nn.Conv2d(mid, growth, 3, padding=1, bias=False)
        self.bottleneck = mid is not None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(self.relu(self.select(self.bn1(x))))
        if self.bottleneck:
            out = self.conv2(self.relu(self.bn2(out)))
        return torch.cat((x, out), 1)


class Transition(nn.Module):
    def __init__(self, inplanes: int, select: list[int], outplanes: int):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(inplanes)
        self.select = ChannelSelection(inplanes, select)
        self.relu = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(len(select), outplanes, 1, bias=False)
        self.pool = nn.AvgPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.conv1(self.relu(self.select(self.bn1(x)))))


def _layout(depth: int, bottleneck: bool, compression: int) -> list[tuple[str, int]]:
    """(kind, input channels) of every layer and transition in order, then ("final", C)."""
    if (depth - 4) % (6 if bottleneck else 3):
        raise UserError(f"DenseNet depth must be {'6n + 4' if bottleneck else '3n + 4'}, got {depth}")
    n = (depth - 4) // (6 if bottleneck else 3)
    out, channels = [], 2 * GROWTH
    for stage in range(3):
        for _ in range(n):
            out.append(("layer", channels))
            channels += GROWTH
        if stage < 2:
            out.append(("transition", channels))
            channels = int(math.floor(channels // compression))
    return out + [("final", channels)]


def densenet_defaults(depth: int, bottleneck: bool, compression: int) -> list[Any]:
    out: list[Any] = []
    for kind, channels in _layout(depth, bottleneck, compression):
        out.append(list(range(channels)))
        if kind == "layer" and bottleneck:
            out.append(4 * GROWTH)
    return out


class DenseNet(nn.Module):
    def __init__(self, depth: int, entries: list[Any], in_channels: int, num_classes: int, *,
                 bottleneck: bool, compression: int, bn_init: float):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 2 * GROWTH, 3, padding=1, bias=False)
        modules: list[nn.Module] = []
        k = 0
        self._groups: list[tuple[str, Any]] = []
        layout = _layout(depth, bottleneck, compression)
        for kind, channels in layout[:-1]:
            select = entries[k]
            if kind == "layer":
                mid = entries[k + 1] if bottleneck else None
                modules.append(DenseLayer(channels, select, GROWTH, mid))
                k += 2 if bottleneck else 1
            else:
                modules.append(Transition(channels, select, int(math.floor(channels // compression))))
                k += 1
        self.features = nn.Sequential(*modules)
        final = layout[-1][1]
        self.bn = nn.BatchNorm2d(final)
        self.select = ChannelSelection(final, entries[k])
        self.relu = nn.ReLU(inplace=True)
        self.avgpool = nn.AdaptiveAvgPool2d(1)  # AvgPool2d(8) on the 8x8 map of 32x32 input
        self.fc = nn.Linear(len(entries[k]), num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                n = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
                nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / n))
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, bn_init)
                nn.init.zeros_(m.bias)

    def channel_groups(self) -> list[ChannelGroup]:
        groups = []
        for i, m in enumerate(self.features):
            p = f"features.{i}"
            groups.append(ChannelGroup(f"{p}.select", m.bn1.num_features, "select",
                                       ((f"{p}.select", "out"), (f"{p}.conv1", "in")), bn=f"{p}.bn1"))
            if isinstance(m, DenseLayer) and m.bottleneck:
                groups.append(ChannelGroup(f"{p}.conv1", m.conv1.out_channels, "width",
                                           ((f"{p}.conv1", "out"), (f"{p}.bn2", "out"), (f"{p}.conv2", "in")),
                                           bn=f"{p}.bn2", source=f"{p}.conv1"))
        groups.append(ChannelGroup("select", self.bn.num_features, "select",
                                   (("select", "out"), ("fc", "in")), bn="bn"))
        return groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.select(self.bn(self.features(self.conv1(x)))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def _densenet(name: str, depth: int, *, compression: int, bn_init: float, bottleneck: bool = False):
    def build(info: DatasetInfo, channels: Sequence[Any] | None = None, bottleneck: bool = bottleneck) -> nn.Module:
        if not isinstance(bottleneck, bool):
            raise UserError(f"model {name} option bottleneck must be true or false, got {bottleneck!r}")
        if info.size < 4:
            raise UserError(f"model {name} needs input of at least 4x4 (two 2x2 poolings); dataset "
                            f"{info.name} is {info.describe_shape()}")
        defaults = densenet_defaults(depth, bottleneck, compression)
        return DenseNet(depth, _entries(channels, defaults, name), info.channels, info.num_classes,
                        bottleneck=bottleneck, compression=compression, bn_init=bn_init)

    build.__name__ = name
    return build


register_model("densenet40_slim", family="densenet", options={"channels": None},
               description="DenseNet-40 (k=12) of the network-slimming code (channel selection, BN 0.5)")(
    _densenet("densenet40_slim", 40, compression=1, bn_init=0.5))
register_model("densenet40", family="densenet", options={"channels": None},
               description="DenseNet-40 (k=12) of the weight-level pruning code (BN 1)")(
    _densenet("densenet40", 40, compression=1, bn_init=1.0))
register_model("densenet_bc100", family="densenet", options={"channels": None, "bottleneck": False},
               description="'DenseNet-BC-100' of the weight-level code: k=12, compression 0.5, basic layers "
                           "as released (bottleneck=true: the BC layers)")(
    _densenet("densenet_bc100", 100, compression=2, bn_init=1.0))
