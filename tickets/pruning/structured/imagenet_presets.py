"""The predefined pruned ImageNet architectures of "Rethinking the Value of Network Pruning", as its
released code builds them (imagenet/ of Eric-mingjie/rethinking-network-pruning). Facts carried over:

- L1-norm ResNet-34-A/B (l1-norm-pruning/prune.py): only each block's first conv is pruned, by a
  fraction per stage (A: 0.3/0.3/0.3/0, B: 0.5/0.6/0.4/0), kept = int(width * (1 - fraction));
  the first and last block of stages 1-3 and every block of stage 4 are skipped (the released
  code's 3x3-conv numbers 2, 8, 14, 16, 26, 28, 30, 32, counting the 7x7 stem as 1). Used by
  method `l1_filter` (variants A/B on `resnet34_imagenet`), which ranks the filters by L1 norm.
- ThiNet (thinet/models): VGG-16 without BN, widths halved in the first ten convs (VGG-Conv keeps
  the 4096 classifier; VGG-GAP drops the last max-pool and the 4096 layers for a global average
  pool; VGG-Tiny also thins the last convs); ResNet-50 ThiNet-30/50/70 keep 30/50/70 % of each
  bottleneck's conv1/conv2 widths (19/38/76/153, 32/64/128/256, 44/89/179/358).
- Regression-based channel pruning (regression-pruning/models): VGG-16-5x widths, and ResNet-50-2x
  per-block widths plus a channel selection of each block's input (models/filter.pkl, kept in
  tickets/models/imagenet_selection.py).
- Sparse structure selection (sparse-structure-selection/README.md): ResNet-26/32/41 as ResNet-50
  with residual blocks removed, per stage (blocks kept, first block kept):
  41: (0, no) (4, yes) (6, yes) (3, yes); 32: (1, no) (4, yes) (4, yes) (1, yes);
  26: (0, no) (2, no) (5, no) (1, yes). A removed first block keeps its projection shortcut.

Each preset is the large network's name plus the model options of the smaller one, so the
smaller network is an ordinary build of the same builder (method `predefined`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from registry.errors import UserError

# ---------------------------------------------------------------- L1-norm ResNet-34-A/B (l1_filter)
RESNET34_SKIP = (2, 8, 14, 16, 26, 28, 30, 32)
RESNET34_FRACTIONS = {"A": (0.3, 0.3, 0.3, 0.0), "B": (0.5, 0.6, 0.4, 0.0)}
RESNET34_BLOCKS = (3, 4, 6, 3)


def resnet34_counts(variant: str) -> dict[str, int]:
    """Kept first-conv filters per block group (`layerS.I.conv1`) of ResNet-34-A/B."""
    fractions = RESNET34_FRACTIONS[variant]
    counts, conv = {}, 2
    for stage, blocks in enumerate(RESNET34_BLOCKS):
        width = 64 * 2 ** stage
        for i in range(blocks):
            keep = width if conv in RESNET34_SKIP else int(width * (1 - fractions[stage]))
            counts[f"layer{stage + 1}.{i}.conv1"] = keep
            conv += 2
    return counts


# ---------------------------------------------------------------- predefined architectures
def _bottleneck(per_stage: tuple[int, int, int, int]) -> list[int]:
    """conv1/conv2 widths of every ResNet-50 block, one width per stage."""
    return [w for w, n in zip(per_stage, RESNET34_BLOCKS) for _ in range(2 * n)]


# regression-based ResNet-50-2x: [block input kept, conv1, conv2] per block (models/resnet_2x.py)
RESNET50_2X = [35, 64, 55, 101, 51, 39, 97, 50, 37, 144, 128, 106, 205, 105, 72, 198, 105, 72, 288, 128, 110,
               278, 256, 225, 418, 209, 147, 407, 204, 158, 423, 212, 155, 412, 211, 148, 595, 256, 213,
               606, 512, 433, 1222, 512, 437, 1147, 512, 440]

THINET_VGG_CONV = [32, 32, 64, 64, 128, 128, 128, 256, 256, 256, 512, 512, 512]
THINET_VGG_TINY = [16, 16, 32, 32, 64, 64, 64, 128, 128, 128, 128, 128, 256]
VGG16_5X = [24, 22, 41, 51, 108, 89, 111, 184, 276, 228, 512, 512, 512]


@dataclass(frozen=True)
class Preset:
    """A predefined small network: the large network it is cut from and its own model options."""

    name: str
    model: str  # the large network (registry name)
    options: Mapping[str, Any]
    label: str
    method: str  # the pruning method whose architecture it is


def _2x_options() -> dict[str, Any]:
    from tickets.models.imagenet_selection import resnet50_2x_selection

    channels = [w for i, w in enumerate(RESNET50_2X) if i % 3]
    return {"channels": channels, "select": resnet50_2x_selection()}


PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset("thinet_conv", "vgg16_imagenet", {"channels": THINET_VGG_CONV}, "VGG-Conv", "thinet"),
    Preset("thinet_gap", "vgg16_imagenet", {"channels": THINET_VGG_CONV, "head": "gap"}, "VGG-GAP", "thinet"),
    Preset("thinet_tiny", "vgg16_imagenet", {"channels": THINET_VGG_TINY, "head": "gap"}, "VGG-Tiny", "thinet"),
    Preset("thinet30", "resnet50_imagenet", {"channels": _bottleneck((19, 38, 76, 153))}, "ThiNet-30", "thinet"),
    Preset("thinet50", "resnet50_imagenet", {"channels": _bottleneck((32, 64, 128, 256))}, "ThiNet-50", "thinet"),
    Preset("thinet70", "resnet50_imagenet", {"channels": _bottleneck((44, 89, 179, 358))}, "ThiNet-70", "thinet"),
    Preset("vgg16_5x", "vgg16_imagenet", {"channels": VGG16_5X}, "VGG-16-5x", "regression"),
    Preset("resnet50_2x", "resnet50_imagenet", {}, "ResNet-50-2x", "regression"),
    Preset("resnet41_sss", "resnet50_imagenet", {"units": [[0, False], [4, True], [6, True], [3, True]]},
           "ResNet-41", "sss"),
    Preset("resnet32_sss", "resnet50_imagenet", {"units": [[1, False], [4, True], [4, True], [1, True]]},
           "ResNet-32", "sss"),
    Preset("resnet26_sss", "resnet50_imagenet", {"units": [[0, False], [2, False], [5, False], [1, True]]},
           "ResNet-26", "sss"),
)}


def preset(name: str) -> Preset:
    if name not in PRESETS:
        raise UserError(f"unknown predefined architecture {name!r}; known: {', '.join(PRESETS)}")
    return PRESETS[name]


def preset_options(name: str) -> dict[str, Any]:
    """The smaller network's model options (ResNet-50-2x's selections are read on demand)."""
    p = preset(name)
    return _2x_options() if name == "resnet50_2x" else {k: (list(v) if isinstance(v, list) else v)
                                                        for k, v in p.options.items()}
