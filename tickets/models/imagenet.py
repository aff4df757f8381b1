"""ImageNet networks, built on torchvision's model builders (torchvision is imported inside the builders).

Naming: every ImageNet network ends in `_imagenet` (`resnet50_imagenet`, `vgg16_bn_imagenet`), so no
name can be read as one of the CIFAR families (`resnet20/32/44/56/110`, `vgg11/13/16/19`, whose
names are depths of a different network: a CIFAR `resnet50` would be 6·8+2 basic blocks, 16-32-64).
The part before the suffix is torchvision's builder name.

- ResNets: `resnet18/34/50/101/152_imagenet`, `wide_resnet50_2_imagenet` (torchvision's `resnetN` /
  `wide_resnet50_2`, stem 7x7/2 + max-pool, four stages, global average pool, one linear layer).
- VGGs: `vgg11_bn_imagenet`, `vgg16_bn_imagenet` (torchvision's, three-layer 4096 classifier with
  dropout) and `vgg16_imagenet` (no BN: the VGG-16 of ThiNet and regression-based pruning, whose
  `head="gap"` variant drops the fifth max-pool and the 4096 layers for a global average pool and
  one linear layer, as ThiNet's VGG-GAP/Tiny); `vgg11_slim_imagenet` is the network-slimming VGG-11
  (BN, classifier 4096-BN-4096-BN, BN scales starting at 0.5, as its released code).

Options (every network):
- `init`: "torchvision" (default: kaiming-normal fan_out convs, BN 1/0, torch's default linear) or
  "fanin" (the Random Pruning code's `-c fanin`: kaiming-normal fan_in convs, the rest the same).
  The VGGs' linear layers follow torchvision (N(0, 0.01), zero bias) under both.
- `channels`: per-layer widths for structured pruning, `None` = the full network. ResNets: one
  entry per block (BasicBlock: its first conv's width) or two (Bottleneck: conv1 and conv2 widths),
  flattened in block order; the residual stream is never narrowed (the released L1-norm and ThiNet
  codes prune inside blocks only). VGGs: one width per conv (slimming VGG: plus its two hidden
  linear widths). Each network lists its channel groups (`channel_groups()`, see
  tickets/models/structured.py), so `tickets.pruning.structured.rebuild` slices them.
- ResNets only: `select` (per block, the residual-stream channels its first conv reads, as the
  channel-selection layer of regression-based ResNet-50-2x; `None` = all) and `units` (per stage
  `[blocks, first_kept]`: the sparse-structure-selection ResNets keep `blocks` residual blocks of a
  stage; a stage whose first block is pruned keeps only that block's projection shortcut).

`prunable_layers` order is module registration order: convs stage by stage (a block's downsample
after its convs, torchvision's order), the classifier last."""
from __future__ import annotations

import functools
from typing import Any, Sequence

import torch
from torch import nn

from registry.errors import UserError
from tickets.data.info import DatasetInfo
from tickets.models.base import register_model
from tickets.models.structured import ChannelGroup, ChannelSelection

INITS = ("torchvision", "fanin")

# torchvision builder name -> (block kind, blocks per stage, width per group)
RESNETS = {
    "resnet18": ("basic", (2, 2, 2, 2)),
    "resnet34": ("basic", (3, 4, 6, 3)),
    "resnet50": ("bottleneck", (3, 4, 6, 3)),
    "resnet101": ("bottleneck", (3, 4, 23, 3)),
    "resnet152": ("bottleneck", (3, 8, 36, 3)),
    "wide_resnet50_2": ("bottleneck", (3, 4, 6, 3)),
}
PLANES = (64, 128, 256, 512)


def _check_init(name: str, init: Any) -> str:
    if init not in INITS:
        raise UserError(f"model {name} option init must be one of {', '.join(INITS)}, got {init!r}")
    return init


def initialise(model: nn.Module, init: str, linear: str = "default", bn_scale: float = 1.0) -> None:
    """(Re-)initialise every layer in module order: convs kaiming-normal (fan_out for "torchvision",
    fan_in for "fanin"; zero bias), BN `bn_scale`/0, linears torch's default or N(0, 0.01)."""
    mode = "fan_in" if init == "fanin" else "fan_out"
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode=mode, nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
            nn.init.constant_(m.weight, bn_scale)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            if linear == "normal":
                nn.init.normal_(m.weight, 0.0, 0.01)
                nn.init.zeros_(m.bias)
            else:
                m.reset_parameters()


def _attach_groups(model: nn.Module, groups: list[ChannelGroup]) -> nn.Module:
    """Give a torchvision network the `channel_groups()` structured pruning reads."""
    model.channel_groups = functools.partial(list, tuple(groups))  # type: ignore[attr-defined]
    return model


def _widths(name: str, channels: Sequence[Any] | None, defaults: list[int]) -> list[int]:
    if channels is None:
        return list(defaults)
    channels = list(channels)
    if len(channels) != len(defaults):
        raise UserError(f"model {name}: channels has {len(channels)} entries, the network has "
                        f"{len(defaults)} channel groups")
    for i, value in enumerate(channels):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise UserError(f"model {name}: channel group {i} must keep at least 1 channel, got {value!r}")
    return channels


# --------------------------------------------------------------------------- ResNets

class ShortcutOnly(nn.Module):
    """A residual block whose residual branch was removed (sparse structure selection): the
    projection shortcut alone, then the block's ReLU."""

    def __init__(self, downsample: nn.Module):
        super().__init__()
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.downsample(x))


@functools.cache
def _selecting(block_cls: type) -> type:
    """`block_cls` reading only the residual-stream channels in `self.select` (ResNet-50-2x)."""

    class Selecting(block_cls):  # type: ignore[misc, valid-type]
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            identity = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(self.select(x))))
            if hasattr(self, "conv3"):
                out = self.relu(self.bn2(self.conv2(out)))
                out = self.bn3(self.conv3(out))
            else:
                out = self.bn2(self.conv2(out))
            return self.relu(out + identity)

    Selecting.__name__ = f"Selecting{block_cls.__name__}"
    return Selecting


def _units(name: str, units: Any, layers: Sequence[int]) -> list[tuple[int, bool]]:
    if units is None:
        return [(n, True) for n in layers]
    try:
        out = [(int(n), bool(first)) for n, first in units]
    except (TypeError, ValueError):
        raise UserError(f"model {name}: units must be 4 pairs [blocks, first_kept], got {units!r}") from None
    if len(out) != 4 or any(not 0 <= n <= full for (n, _), full in zip(out, layers)):
        raise UserError(f"model {name}: units must be 4 pairs [blocks, first_kept] with blocks in "
                        f"0..{list(layers)} per stage, got {units!r}")
    for (n, first), full in zip(out, layers):
        if first and n == 0:
            raise UserError(f"model {name}: a stage whose first block is kept has at least 1 block, got {units!r}")
        if not first and n > full - 1:
            raise UserError(f"model {name}: a stage whose first block is pruned keeps at most {full - 1} "
                            f"more, got {units!r}")
    return out


def block_names(name: str, units: Any = None) -> list[str]:
    """Module names of the residual blocks that carry convs, in order (after `units`)."""
    kind, layers = RESNETS[name]
    out = []
    for stage, (n, first) in enumerate(_units(name, units, layers), 1):
        start = 0 if first else 1
        out += [f"layer{stage}.{i}" for i in range(start, start + n)]
    return out


def resnet_default_channels(name: str, units: Any = None) -> list[int]:
    """The full network's `channels` entries (the width of each pruned conv inside the blocks)."""
    kind, layers = RESNETS[name]
    base = 128 if name == "wide_resnet50_2" else 64
    out = []
    for stage, (n, first) in enumerate(_units(name, units, layers)):
        width = PLANES[stage] * base // 64
        out += [width] * (n if kind == "basic" else 2 * n)
    return out


def _resnet(name: str):
    kind, layers = RESNETS[name]
    per_block = 1 if kind == "basic" else 2

    def build(info: DatasetInfo, init: str = "torchvision", channels: Sequence[int] | None = None,
              select: Sequence[Any] | None = None, units: Any = None) -> nn.Module:
        import torchvision

        _check_init(f"{name}_imagenet", init)
        model = getattr(torchvision.models, name)(weights=None, num_classes=info.num_classes)
        if info.channels != 3:
            model.conv1 = nn.Conv2d(info.channels, 64, 7, stride=2, padding=3, bias=False)
        stage_units = _units(f"{name}_imagenet", units, layers)
        for stage, (n, first) in enumerate(stage_units, 1):
            layer = getattr(model, f"layer{stage}")
            blocks = list(layer)
            kept = blocks[:n] if first else [ShortcutOnly(blocks[0].downsample or nn.Identity())] + blocks[1:1 + n]
            setattr(model, f"layer{stage}", nn.Sequential(*kept))
        names = block_names(name, units)
        widths = _widths(f"{name}_imagenet", channels, resnet_default_channels(name, units))
        selections = _selections(f"{name}_imagenet", select, model, names)
        modules = dict(model.named_modules())
        groups = []
        for i, block_name in enumerate(names):
            block = modules[block_name]
            mids = widths[i * per_block:(i + 1) * per_block]
            inputs = block.conv1.in_channels
            if selections[i] is not None:
                block.__class__ = _selecting(type(block))
                block.select = ChannelSelection(inputs, selections[i])
                inputs = len(selections[i])
            _narrow(block, kind, inputs, mids)
            convs = ("conv1", "conv2") if kind == "basic" else ("conv1", "conv2", "conv3")
            for j, width in enumerate(mids):
                conv, bn, consumer = f"{block_name}.{convs[j]}", f"{block_name}.bn{j + 1}", f"{block_name}.{convs[j + 1]}"
                groups.append(ChannelGroup(f"{block_name}.{convs[j]}", width, "width",
                                           ((conv, "out"), (bn, "out"), (consumer, "in")), bn=bn, source=conv))
        initialise(model, init)
        return _attach_groups(model, groups)

    build.__name__ = f"{name}_imagenet"
    return build


def _selections(name: str, select: Any, model: nn.Module, names: list[str]) -> list[Any]:
    if select is None:
        return [None] * len(names)
    select = list(select)
    if len(select) != len(names):
        raise UserError(f"model {name}: select has {len(select)} entries, the network has {len(names)} blocks")
    modules = dict(model.named_modules())
    out = []
    for i, (entry, block) in enumerate(zip(select, names)):
        size = modules[block].conv1.in_channels
        if entry is None:
            out.append(None)
            continue
        entry = list(entry)
        if not entry or sorted(set(entry)) != entry or not all(isinstance(v, int) and 0 <= v < size for v in entry):
            raise UserError(f"model {name}: select entry {i} must list increasing channel indices in [0, {size})")
        out.append(None if len(entry) == size else entry)
    return out


def _narrow(block: nn.Module, kind: str, inputs: int, mids: list[int]) -> None:
    """Rebuild a block's inner convs and BNs at the given widths (the output width is kept)."""
    conv1, conv2 = block.conv1, block.conv2
    if kind == "basic":
        (c1,) = mids
        if c1 == conv1.out_channels and inputs == conv1.in_channels:
            return
        block.conv1 = nn.Conv2d(inputs, c1, 3, stride=conv1.stride, padding=1, bias=False)
        block.bn1 = nn.BatchNorm2d(c1)
        block.conv2 = nn.Conv2d(c1, conv2.out_channels, 3, padding=1, bias=False)
        return
    c1, c2 = mids
    conv3 = block.conv3
    if (c1, c2, inputs) == (conv1.out_channels, conv2.out_channels, conv1.in_channels):
        return
    block.conv1 = nn.Conv2d(inputs, c1, 1, bias=False)
    block.bn1 = nn.BatchNorm2d(c1)
    block.conv2 = nn.Conv2d(c1, c2, 3, stride=conv2.stride, padding=1, bias=False)
    block.bn2 = nn.BatchNorm2d(c2)
    block.conv3 = nn.Conv2d(c2, conv3.out_channels, 1, bias=False)


def _resnet_structure(name: str):
    kind, layers = RESNETS[name]

    def structure(options):
        units = options.get("units")
        depth_blocks = [n for n, _ in _units(name, units, layers)]
        per = 2 if kind == "basic" else 3
        return {"depth": 2 + per * sum(depth_blocks), "block": kind, "blocks": depth_blocks,
                "widths": [p * (4 if kind == "bottleneck" else 1) for p in PLANES]}
    return structure


_RESNET_WHAT = {
    "resnet18": "ResNet-18", "resnet34": "ResNet-34", "resnet50": "ResNet-50", "resnet101": "ResNet-101",
    "resnet152": "ResNet-152", "wide_resnet50_2": "Wide ResNet-50-2",
}
for _name in RESNETS:
    register_model(f"{_name}_imagenet", family="resnet",
                   options={"init": "torchvision", "channels": None, "select": None, "units": None},
                   structure=_resnet_structure(_name),
                   description=f"ImageNet {_RESNET_WHAT[_name]} (torchvision's {_name}; init, channels, select, units)")(
        _resnet(_name))


# --------------------------------------------------------------------------- VGGs

VGG_LAYOUTS = {
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
}
HEADS = ("fc", "gap")


def _layout(base: str, widths: list[int], head: str) -> list[Any]:
    it = iter(widths)
    layout = [v if v == "M" else next(it) for v in VGG_LAYOUTS[base]]
    return layout[:-1] if head == "gap" else layout  # GAP: the fifth pooling is the global average


def _vgg_groups(model: nn.Module, head_consumer: str) -> list[ChannelGroup]:
    feats = [(i, m) for i, m in enumerate(model.features) if isinstance(m, nn.Conv2d)]
    groups = []
    for k, (i, conv) in enumerate(feats):
        bn = f"features.{i + 1}" if isinstance(model.features[i + 1], nn.BatchNorm2d) else None
        consumer = f"features.{feats[k + 1][0]}" if k + 1 < len(feats) else head_consumer
        members = ((f"features.{i}", "out"),) + (((bn, "out"),) if bn else ()) + ((consumer, "in"),)
        groups.append(ChannelGroup(f"conv{k + 1}", conv.out_channels, "width", members, bn=bn,
                                   source=f"features.{i}"))
    return groups


def _vgg(base: str, batch_norm: bool, tv_name: str):
    name = f"{tv_name}_imagenet"
    defaults = [v for v in VGG_LAYOUTS[base] if v != "M"]

    def build(info: DatasetInfo, init: str = "torchvision", channels: Sequence[int] | None = None,
              head: str = "fc") -> nn.Module:
        from torchvision.models.vgg import VGG, make_layers

        _check_init(name, init)
        if head not in HEADS:
            raise UserError(f"model {name} option head must be one of {', '.join(HEADS)}, got {head!r}")
        widths = _widths(name, channels, defaults)
        features = make_layers(_layout(base, widths, head), batch_norm=batch_norm)
        if info.channels != 3:
            features[0] = nn.Conv2d(info.channels, widths[0], 3, padding=1)
        model = VGG(features, num_classes=info.num_classes, init_weights=False)
        last = widths[-1]
        if head == "gap":
            model.avgpool = nn.AdaptiveAvgPool2d(1)
            model.classifier = nn.Sequential(nn.Linear(last, info.num_classes))
        elif last != 512:
            model.classifier[0] = nn.Linear(last * 7 * 7, 4096)
        initialise(model, init, linear="normal")
        return _attach_groups(model, _vgg_groups(model, "classifier.0"))

    build.__name__ = name
    return build


for _base, _bn, _tv in (("vgg11", True, "vgg11_bn"), ("vgg16", True, "vgg16_bn"), ("vgg16", False, "vgg16")):
    register_model(f"{_tv}_imagenet", family="vgg", options={"init": "torchvision", "channels": None, "head": "fc"},
                   description=f"ImageNet {_base.upper()}{' with BN' if _bn else ''} (torchvision's {_tv}; "
                               f"init, channels, head fc|gap)")(_vgg(_base, _bn, _tv))


class SlimmingVGG(nn.Module):
    """Network slimming's ImageNet VGG-11: conv (with bias) + BN + ReLU, five max-pools, then
    Linear(c·7·7, h1) + BN1d + ReLU + Linear(h1, h2) + BN1d + ReLU + Linear(h2, C)."""

    def __init__(self, widths: list[int], hidden: tuple[int, int], in_channels: int, num_classes: int):
        super().__init__()
        from torchvision.models.vgg import make_layers

        self.features = make_layers(_layout("vgg11", widths, "fc"), batch_norm=True)
        if in_channels != 3:
            self.features[0] = nn.Conv2d(in_channels, widths[0], 3, padding=1)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        h1, h2 = hidden
        self.classifier = nn.Sequential(nn.Linear(widths[-1] * 49, h1), nn.BatchNorm1d(h1), nn.ReLU(True),
                                        nn.Linear(h1, h2), nn.BatchNorm1d(h2), nn.ReLU(True),
                                        nn.Linear(h2, num_classes))
        self.widths, self.hidden = list(widths), hidden

    def channel_groups(self) -> list[ChannelGroup]:
        groups = _vgg_groups(self, "classifier.0")  # the last conv feeds 7x7 positions per channel
        for k, (lin, bn, consumer) in enumerate((("classifier.0", "classifier.1", "classifier.3"),
                                                 ("classifier.3", "classifier.4", "classifier.6"))):
            groups.append(ChannelGroup(f"fc{k + 1}", self.hidden[k], "width",
                                       ((lin, "out"), (bn, "out"), (consumer, "in")), bn=bn, source=lin))
        return groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


@register_model("vgg11_slim_imagenet", family="vgg", options={"init": "torchvision", "channels": None},
                description="network slimming's ImageNet VGG-11 (BN, 4096-BN-4096-BN classifier, BN scales 0.5)")
def vgg11_slim_imagenet(info: DatasetInfo, init: str = "torchvision", channels: Sequence[int] | None = None) -> nn.Module:
    _check_init("vgg11_slim_imagenet", init)
    defaults = [v for v in VGG_LAYOUTS["vgg11"] if v != "M"] + [4096, 4096]
    widths = _widths("vgg11_slim_imagenet", channels, defaults)
    model = SlimmingVGG(widths[:-2], (widths[-2], widths[-1]), info.channels, info.num_classes)
    initialise(model, init, linear="normal", bn_scale=0.5)
    return model


IMAGENET_MODELS = tuple(f"{n}_imagenet" for n in RESNETS) + (
    "vgg11_bn_imagenet", "vgg16_bn_imagenet", "vgg16_imagenet", "vgg11_slim_imagenet")
