"""Networks with a per-layer channel configuration, the ones structured pruning shrinks.

Each is built from `channels`, one entry per *channel group* (`None` = the full network): a group is
a set of channels that must be removed together, in every tensor they appear in. A network lists
its groups with `channel_groups()`, each naming which module produces those channels on which
dimension (`out`: a conv's filters, a BN's four vectors) and which consumes them (`in`: the next
conv's or linear layer's input dimension). `tickets.pruning.structured.rebuild` needs nothing else
to cut a trained network down to a smaller one of the same class.

Two kinds of group:
- `width`: an ordinary layer width (a conv's filters and its BN); the entry is a channel count.
- `select`: the channels a `ChannelSelection` passes on from a BN that keeps them all (the
  pre-activation ResNet's block inputs, as in the network-slimming code); the entry is the list of
  kept indices, so the smaller network is rebuilt from its options alone.

Registered (the networks of "Rethinking the Value of Network Pruning", as in its released code):
- `vgg16_l1`: VGG-16 of the L1-norm experiments: bias-free conv + BN + ReLU, four max-pools,
  average pooling, classifier Linear(512, 512) + BN1d + ReLU + Linear(512, C); conv BN scales start
  at 0.5, the classifier's BN1d at `classifier_bn_init` (1.0: the released `_initialize_weights`
  fills only BatchNorm2d, so BN1d keeps PyTorch's 1; 0.5 is this project's earlier network, and
  what run identity omits, so its keys are unchanged; docs/FIDELITY.md item 12).
- `vgg19_slim`: VGG-19 of the network-slimming experiments: the same features, one Linear(512, C).
- `resnet56_l1`, `resnet110_l1`: CIFAR ResNets with 16-32-64 BasicBlocks and parameter-free
  shortcuts (2x2 average pooling + zero channels where the shape changes); a block's first conv
  width is its group (the residual stream is never pruned, as in Li et al.). `shortcut_grad`
  False (the default) builds the downsampling shortcut from `x.data` as the released
  `downsample_basic_block` does: no gradient flows through it; True passes the gradient (this
  project's earlier network, the value run identity omits; docs/FIDELITY.md item 11).
  `resnet20_l1`, `resnet32_l1`: the same family at depths 20 and 32 (the soft-filter-pruning experiments).
- `preresnet110`: the weight-level code's PreResNet-110 (12 bottlenecks per stage, BN scales 1).
- `preresnet164`: pre-activation bottleneck ResNet-164 (18 blocks per stage, 16-32-64 planes, x4),
  channel selection after each block's first BN and after the final BN.
- `cnn_small`: a VGG-like 2-conv network (16-M-32-M) for small images (tests).
- `mlp_bn`: 784-300-100-C with BN after each hidden layer; neurons are its channels (the CPU study).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from registry.errors import UserError
from tickets.data.info import DatasetInfo
from tickets.models.base import register_model


@dataclass(frozen=True)
class ChannelGroup:
    """Channels removed together. `members`: (module name, "out" | "in"); `bn`: the BN whose
    scales network slimming ranks them by; `source`: the conv whose filters L1-norm ranks them by."""

    name: str
    size: int
    kind: str  # "width" | "select"
    members: tuple[tuple[str, str], ...]
    bn: str | None = None
    source: str | None = None
    prunable: bool = True


class ChannelSelection(nn.Module):
    """Passes on the channels in `index` (a buffer: part of the state dict, rebuilt from options)."""

    def __init__(self, channels: int, index: Sequence[int] | None = None):
        super().__init__()
        idx = torch.arange(channels) if index is None else torch.as_tensor(list(index), dtype=torch.long)
        self.register_buffer("index", idx)
        self.full = index is None or len(index) == channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.full else x.index_select(1, self.index)


def _entries(channels: Sequence[Any] | None, defaults: list[Any], model: str) -> list[Any]:
    if channels is None:
        return list(defaults)
    channels = list(channels)
    if len(channels) != len(defaults):
        raise UserError(f"model {model}: channels has {len(channels)} entries, the network has "
                        f"{len(defaults)} channel groups")
    for i, (value, full) in enumerate(zip(channels, defaults)):
        if isinstance(full, int) and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise UserError(f"model {model}: channel group {i} must keep at least 1 channel, got {value!r}")
        if isinstance(full, list):
            size = len(full)
            if value is None:
                channels[i] = list(full)
                continue
            if not value or not all(isinstance(v, int) and 0 <= v < size for v in value) \
                    or sorted(set(value)) != list(value):
                raise UserError(f"model {model}: channel group {i} must list increasing kept indices "
                                f"in [0, {size}), got {value!r}")
    return channels


def _conv_init(m: nn.Conv2d) -> None:
    """N(0, sqrt(2 / (k·k·out_channels))), as in both released codes."""
    n = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
    nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / n))
    if m.bias is not None:
        nn.init.zeros_(m.bias)


# --------------------------------------------------------------------------- VGG

VGG_CONFIGS = {16: [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512],
               19: [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
                    512, 512, 512, 512]}
SMALL_CNN = [16, "M", 32, "M"]


class PlainCNN(nn.Module):
    """conv(no bias) + BN + ReLU stacks with max-pools, global average pooling, then a classifier
    (`hidden` > 0: Linear + BN1d + ReLU + Linear, as the L1-norm code's VGG-16)."""

    def __init__(self, layout: list[Any], widths: list[int], in_channels: int, num_classes: int,
                 hidden: int = 0, bn_init: float = 0.5, head_bn_init: float = 0.5):
        super().__init__()
        layers: list[nn.Module] = []
        channels, k = in_channels, 0
        self._convs: list[tuple[str, str]] = []
        for item in layout:
            if item == "M":
                layers.append(nn.MaxPool2d(2, 2))
                continue
            out = widths[k]
            self._convs.append((f"features.{len(layers)}", f"features.{len(layers) + 1}"))
            layers += [nn.Conv2d(channels, out, 3, padding=1, bias=False), nn.BatchNorm2d(out),
                       nn.ReLU(inplace=True)]
            channels, k = out, k + 1
        self.features = nn.Sequential(*layers)
        head = ([nn.Linear(channels, hidden), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True),
                 nn.Linear(hidden, num_classes)] if hidden else [nn.Linear(channels, num_classes)])
        self.classifier = nn.Sequential(*head)
        self._head = "classifier.0"  # the layer that consumes the last conv's channels
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                _conv_init(m)
            elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
                nn.init.constant_(m.weight, bn_init if isinstance(m, nn.BatchNorm2d) else head_bn_init)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, 0.01)
                nn.init.zeros_(m.bias)
        self.widths = list(widths)

    def channel_groups(self) -> list[ChannelGroup]:
        groups = []
        for i, (conv, bn) in enumerate(self._convs):
            consumer = self._convs[i + 1][0] if i + 1 < len(self._convs) else self._head
            groups.append(ChannelGroup(f"conv{i + 1}", self.widths[i], "width",
                                       ((conv, "out"), (bn, "out"), (consumer, "in")), bn=bn, source=conv))
        return groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.adaptive_avg_pool2d(self.features(x), 1)  # AvgPool2d(2) on the 2x2 map of 32x32 input
        return self.classifier(torch.flatten(x, 1))


def _plain(name: str, layout: list[Any], hidden: int):
    defaults = [v for v in layout if v != "M"]

    def build(info: DatasetInfo, channels: Sequence[int] | None = None, **head: Any) -> nn.Module:
        widths = _entries(channels, defaults, name)
        if info.size < 2 ** layout.count("M"):
            raise UserError(f"model {name} needs input of at least {2 ** layout.count('M')}x"
                            f"{2 ** layout.count('M')}; dataset {info.name} is {info.describe_shape()}")
        init = head.get("classifier_bn_init", 0.5)
        if isinstance(init, bool) or not isinstance(init, (int, float)) or not init > 0:
            raise UserError(f"model {name}: classifier_bn_init must be a number > 0, got {init!r}")
        return PlainCNN(layout, widths, info.channels, info.num_classes, hidden=hidden, head_bn_init=float(init))

    build.__name__ = name
    return build


# released models/vgg.py: BN1d keeps PyTorch's weight 1.0; 0.5 (the earlier network) is omitted from keys
register_model("vgg16_l1", family="vgg", options={"channels": None, "classifier_bn_init": 1.0},
               identity_defaults={"classifier_bn_init": 0.5},
               description="VGG-16 of the L1-norm pruning code (512-BN-512 classifier, channel config)")(
    _plain("vgg16_l1", VGG_CONFIGS[16], hidden=512))
register_model("vgg19_slim", family="vgg", options={"channels": None},
               description="VGG-19 of the network-slimming code (bias-free convs, channel config)")(
    _plain("vgg19_slim", VGG_CONFIGS[19], hidden=0))
register_model("cnn_small", family="vgg", options={"channels": None},
               description="2-conv VGG-like CNN (16-M-32-M, BN, global pooling) with channel config, for small images")(
    _plain("cnn_small", SMALL_CNN, hidden=0))


# --------------------------------------------------------------------------- MLP

class PlainMLP(nn.Module):
    """Linear (no bias) + BN1d + ReLU per hidden layer, then a linear classifier: the MLP whose
    hidden neurons structured pruning removes (LeNet-300-100's shape with BN by default)."""

    def __init__(self, in_features: int, widths: list[int], num_classes: int, bn_init: float = 0.5):
        super().__init__()
        layers: list[nn.Module] = []
        features = in_features
        for w in widths:
            layers += [nn.Linear(features, w, bias=False), nn.BatchNorm1d(w), nn.ReLU(inplace=True)]
            features = w
        self.hidden = nn.Sequential(*layers)
        self.classifier = nn.Linear(features, num_classes)
        for m in self.modules():
            if isinstance(m, nn.BatchNorm1d):
                nn.init.constant_(m.weight, bn_init)
                nn.init.zeros_(m.bias)
        self.widths = list(widths)

    def channel_groups(self) -> list[ChannelGroup]:
        groups = []
        for i, w in enumerate(self.widths):
            consumer = f"hidden.{3 * (i + 1)}" if i + 1 < len(self.widths) else "classifier"
            groups.append(ChannelGroup(f"fc{i + 1}", w, "width",
                                       ((f"hidden.{3 * i}", "out"), (f"hidden.{3 * i + 1}", "out"),
                                        (consumer, "in")), bn=f"hidden.{3 * i + 1}", source=f"hidden.{3 * i}"))
        return groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.hidden(torch.flatten(x, 1)))


@register_model("mlp_bn", family="mlp", options={"channels": None},
                description="784-300-100-C MLP with BN after each hidden layer, per-layer neuron counts")
def mlp_bn(info: DatasetInfo, channels: Sequence[int] | None = None) -> nn.Module:
    return PlainMLP(info.channels * info.size * info.size, _entries(channels, [300, 100], "mlp_bn"),
                    info.num_classes)


# --------------------------------------------------------------------------- ResNet (option A)

class BasicBlockA(nn.Module):
    """conv3x3(mid) - BN - ReLU - conv3x3(planes) - BN, + x (or its pooled, zero-padded copy)."""

    def __init__(self, inplanes: int, mid: int, planes: int, stride: int, shortcut_grad: bool = False):
        super().__init__()
        self.shortcut_grad = shortcut_grad
        self.conv1 = nn.Conv2d(inplanes, mid, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(mid)
        self.conv2 = nn.Conv2d(mid, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.pad = planes - inplanes
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        shortcut = x
        if self.stride != 1 or self.pad:  # released: torch.cat([x.data, zeros]), no gradient
            shortcut = shortcut if self.shortcut_grad else shortcut.detach()
        if self.stride != 1:
            shortcut = F.avg_pool2d(shortcut, 2, 2)
        if self.pad:
            shortcut = F.pad(shortcut, (0, 0, 0, 0, 0, self.pad))
        return F.relu(out + shortcut)


class ResNetA(nn.Module):
    def __init__(self, depth: int, mids: list[int], in_channels: int, num_classes: int,
                 shortcut_grad: bool = False):
        super().__init__()
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(in_channels, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        blocks, inplanes, k = [], 16, 0
        for stage, planes in enumerate((16, 32, 64)):
            for i in range(n):
                stride = 2 if stage > 0 and i == 0 else 1
                blocks.append(BasicBlockA(inplanes, mids[k], planes, stride, shortcut_grad))
                inplanes, k = planes, k + 1
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(64, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                _conv_init(m)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        self.mids = list(mids)

    def channel_groups(self) -> list[ChannelGroup]:
        return [ChannelGroup(f"block{i + 1}", w, "width",
                             ((f"blocks.{i}.conv1", "out"), (f"blocks.{i}.bn1", "out"),
                              (f"blocks.{i}.conv2", "in")), bn=f"blocks.{i}.bn1", source=f"blocks.{i}.conv1")
                for i, w in enumerate(self.mids)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(F.relu(self.bn1(self.conv1(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def _resnet_a(depth: int):
    name = f"resnet{depth}_l1"
    n = (depth - 2) // 6
    defaults = [16] * n + [32] * n + [64] * n

    def build(info: DatasetInfo, channels: Sequence[int] | None = None, shortcut_grad: bool = False) -> nn.Module:
        if not isinstance(shortcut_grad, bool):
            raise UserError(f"model {name}: shortcut_grad must be true or false, got {shortcut_grad!r}")
        return ResNetA(depth, _entries(channels, defaults, name), info.channels, info.num_classes,
                       shortcut_grad=shortcut_grad)

    build.__name__ = name
    return build


for _depth in (20, 32, 56, 110):  # 20/32: the soft-filter-pruning experiments' ResNets
    register_model(f"resnet{_depth}_l1", family="resnet", options={"channels": None, "shortcut_grad": False},
                   identity_defaults={"shortcut_grad": True},  # the earlier network's keys
                   description=f"ResNet-{_depth} of the L1-norm pruning code (16-32-64, zero-pad shortcuts, "
                               f"per-block widths)")(_resnet_a(_depth))


# --------------------------------------------------------------------------- PreResNet-164

class Bottleneck(nn.Module):
    """BN(all) - select - ReLU - conv1x1 - BN - ReLU - conv3x3 - BN - ReLU - conv1x1(planes·4), + x."""

    def __init__(self, inplanes: int, select: list[int], c1: int, c2: int, planes: int, stride: int):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(inplanes)
        self.select = ChannelSelection(inplanes, select)
        self.conv1 = nn.Conv2d(len(select), c1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c1)
        self.conv2 = nn.Conv2d(c1, c2, 3, stride=stride, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(c2)
        self.conv3 = nn.Conv2d(c2, planes * 4, 1, bias=False)
        self.downsample = (nn.Sequential(nn.Conv2d(inplanes, planes * 4, 1, stride=stride, bias=False))
                           if stride != 1 or inplanes != planes * 4 else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.select(self.bn1(x)))
        out = F.relu(self.bn2(self.conv1(out)))
        out = F.relu(self.bn3(self.conv2(out)))
        out = self.conv3(out)
        return out + (self.downsample(x) if self.downsample is not None else x)


class PreResNet(nn.Module):
    def __init__(self, depth: int, entries: list[Any], in_channels: int, num_classes: int,
                 bn_init: float = 0.5):
        super().__init__()
        n = (depth - 2) // 9
        self.conv1 = nn.Conv2d(in_channels, 16, 3, padding=1, bias=False)
        blocks, inplanes, k = [], 16, 0
        for stage, planes in enumerate((16, 32, 64)):
            for i in range(n):
                stride = 2 if stage > 0 and i == 0 else 1
                select, c1, c2 = entries[k], entries[k + 1], entries[k + 2]
                blocks.append(Bottleneck(inplanes, select, c1, c2, planes, stride))
                inplanes, k = planes * 4, k + 3
        self.blocks = nn.Sequential(*blocks)
        self.bn = nn.BatchNorm2d(inplanes)
        self.select = ChannelSelection(inplanes, entries[k])
        self.fc = nn.Linear(len(entries[k]), num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                _conv_init(m)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, bn_init)
                nn.init.zeros_(m.bias)
        self.entries = entries

    def channel_groups(self) -> list[ChannelGroup]:
        groups = []
        for i, block in enumerate(self.blocks):
            p = f"blocks.{i}"
            groups += [
                ChannelGroup(f"{p}.select", block.bn1.num_features, "select",
                             ((f"{p}.select", "out"), (f"{p}.conv1", "in")), bn=f"{p}.bn1"),
                ChannelGroup(f"{p}.conv1", block.conv1.out_channels, "width",
                             ((f"{p}.conv1", "out"), (f"{p}.bn2", "out"), (f"{p}.conv2", "in")),
                             bn=f"{p}.bn2", source=f"{p}.conv1"),
                ChannelGroup(f"{p}.conv2", block.conv2.out_channels, "width",
                             ((f"{p}.conv2", "out"), (f"{p}.bn3", "out"), (f"{p}.conv3", "in")),
                             bn=f"{p}.bn3", source=f"{p}.conv2"),
            ]
        groups.append(ChannelGroup("select", self.bn.num_features, "select",
                                   (("select", "out"), ("fc", "in")), bn="bn"))
        return groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.select(self.bn(self.blocks(self.conv1(x)))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def preresnet_defaults(depth: int) -> list[Any]:
    n = (depth - 2) // 9
    out: list[Any] = []
    inplanes = 16
    for planes in (16, 32, 64):
        for _ in range(n):
            out += [list(range(inplanes)), planes, planes]
            inplanes = planes * 4
    return out + [list(range(inplanes))]


def _preresnet(depth: int, bn_init: float = 0.5):
    name = f"preresnet{depth}"
    defaults = preresnet_defaults(depth)

    def build(info: DatasetInfo, channels: Sequence[Any] | None = None) -> nn.Module:
        return PreResNet(depth, _entries(channels, defaults, name), info.channels, info.num_classes,
                         bn_init=bn_init)

    build.__name__ = name
    return build


register_model("preresnet164", family="resnet", options={"channels": None},
               description="pre-activation bottleneck ResNet-164 of the network-slimming code "
                           "(channel selection, channel config)")(_preresnet(164))
# the weight-level code's PreResNet-110: depth >= 44 builds bottlenecks, (110 - 2) // 9 = 12 per stage, BN 1
register_model("preresnet110", family="resnet", options={"channels": None},
               description="pre-activation bottleneck ResNet-110 of the weight-level pruning code "
                           "(12 bottlenecks per stage, BN scales 1, channel config)")(_preresnet(110, bn_init=1.0))

STRUCTURED_MODELS = ("vgg16_l1", "vgg19_slim", "cnn_small", "mlp_bn", "resnet20_l1", "resnet32_l1", "resnet56_l1",
                     "resnet110_l1", "preresnet164", "preresnet110", "densenet40_slim", "densenet40", "densenet_bc100")
