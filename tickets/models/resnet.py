"""CIFAR ResNets (depth 6n+2). Every name has one documented meaning (docs/FIDELITY.md item 8):

- `resnet20`, `resnet56`, `resnet110`: He et al.'s CIFAR ResNets as the field uses them (and
  "Rethinking the Value of Network Pruning"): BasicBlock, stages 16/32/64 (`width=16`).
- `resnet32`: the seed paper's 2x-wide ResNet32 as its tables use it: BasicBlock, stages
  32/64/128 (`width=32`). With 10 classes it has 1,855,584 conv + linear weights.
- `block="bottleneck"`: the seed code's variant (`models/resnet.py` there uses Bottleneck blocks for
  depth >= 54): n = (depth-2)/6 blocks of 1x1-3x3-1x1 convs per stage, expansion 4, so the stages
  output 4·width channels; the seed code's resnet56/resnet110 are `block=bottleneck, width=32`.

`width` is the channel count of the first stage (the stem has the same width; stages are width,
2·width, 4·width). Runs stored before names meant this used width 32 for every depth; their keys
are kept: a model's `identity_defaults` (width 32 for resnet20/56/110) is what run identity omits,
so `resnet56` at its new default width 16 gets a new key and `resnet56, width=32` the old one."""
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


class Bottleneck(nn.Module):
    """1x1 (planes) → 3x3 (planes, stride) → 1x1 (4·planes), each with BN; a 1x1 conv + BN shortcut
    where stride or channel count changes, registered after conv3 (the seed code's order)."""

    expansion = 4

    def __init__(self, in_planes: int, planes: int, stride: int = 1):
        super().__init__()
        out = planes * self.expansion
        self.conv1 = nn.Conv2d(in_planes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != out:
            self.shortcut = nn.Sequential(nn.Conv2d(in_planes, out, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(out + self.shortcut(x))


BLOCKS = {"basic": BasicBlock, "bottleneck": Bottleneck}


class CifarResNet(nn.Module):
    def __init__(self, depth: int, in_channels: int, num_classes: int, width: int = 32,
                 block: str = "basic"):
        super().__init__()
        if (depth - 2) % 6:
            raise ValueError(f"CIFAR ResNet depth must be 6n+2, got {depth}")
        n = (depth - 2) // 6
        kind = BLOCKS[block]
        expansion = getattr(kind, "expansion", 1)
        self.conv1 = nn.Conv2d(in_channels, width, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.layer1 = self._stage(kind, width, width, n, stride=1)
        self.layer2 = self._stage(kind, width * expansion, 2 * width, n, stride=2)
        self.layer3 = self._stage(kind, 2 * width * expansion, 4 * width, n, stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4 * width * expansion, num_classes)
        self.reset_parameters()

    @staticmethod
    def _stage(kind, in_planes: int, planes: int, blocks: int, stride: int) -> nn.Sequential:
        out = planes * getattr(kind, "expansion", 1)
        layers = [kind(in_planes, planes, stride)]
        layers += [kind(out, planes, 1) for _ in range(blocks - 1)]
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


# depth -> default width. Runs stored before this meaning was fixed built every depth at width 32:
# those names keep it as their identity default (old keys), resnet44 (added with the Random Pruning
# paper's depth sweep) never had another default.
STANDARD_WIDTH, SEED_PAPER_WIDTH = 16, 32
DEFAULT_WIDTHS = {20: STANDARD_WIDTH, 32: SEED_PAPER_WIDTH, 44: STANDARD_WIDTH, 56: STANDARD_WIDTH,
                  110: STANDARD_WIDTH}
NEW_NAMES = (44,)


def _resnet(depth: int, default_width: int):
    def build(info: DatasetInfo, width: int = default_width, block: str = "basic") -> nn.Module:
        integral = isinstance(width, (int, float)) and not isinstance(width, bool) and float(width).is_integer()
        if not integral or width < 1:
            raise UserError(f"resnet{depth} option width must be a positive integer "
                            f"(channels of the first stage; default {default_width}), got {width!r}")
        if block not in BLOCKS:
            raise UserError(f"resnet{depth} option block must be one of {', '.join(BLOCKS)}, got {block!r}")
        return CifarResNet(depth, info.channels, info.num_classes, width=int(width), block=block)

    build.__name__ = f"resnet{depth}"
    build.__doc__ = f"CIFAR ResNet-{depth} (n={(depth - 2) // 6} blocks per stage), stages width/2w/4w."
    return build


def describe(depth: int, width: int, block: str) -> str:
    """"BasicBlock 16-32-64" style summary (`tickets models`)."""
    expansion = getattr(BLOCKS[block], "expansion", 1)
    stages = "-".join(str(w * expansion) for w in (width, 2 * width, 4 * width))
    return f"{BLOCKS[block].__name__} {stages}"


for _depth, _width in DEFAULT_WIDTHS.items():
    _what = ("the seed paper's 2x-wide ResNet32" if _depth == 32
             else f"He et al.'s ResNet-{_depth}")
    register_model(f"resnet{_depth}", family="resnet", options={"width": _width, "block": "basic"},
                   identity_defaults=None if _depth in NEW_NAMES else {"width": SEED_PAPER_WIDTH},
                   structure=lambda options, d=_depth: {"depth": d, **_structure(d, options)},
                   description=f"CIFAR ResNet-{_depth}, {describe(_depth, _width, 'basic')} ({_what})")(
        _resnet(_depth, _width))


def _structure(depth: int, options) -> dict:
    width, block = int(options.get("width", 16)), str(options.get("block", "basic"))
    expansion = getattr(BLOCKS.get(block, BasicBlock), "expansion", 1)
    return {"block": block, "widths": [w * expansion for w in (width, 2 * width, 4 * width)]}
