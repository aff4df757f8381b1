"""The predefined target architectures of Li et al. (2017) as "Rethinking the Value of Network
Pruning" uses them (cifar/l1-norm-pruning of its released code: vggprune.py, res56prune.py,
res110prune.py). Facts carried over:

- VGG-16-A: the first conv keeps 32 of 64 filters and the last six convs 256 of 512.
- ResNet-56/110: only each block's first conv is pruned; the fraction removed is set per stage and
  kept = int(width * (1 - fraction)); some blocks are skipped (their layers are sensitive). The
  released code counts convs from 1 (the stem), so block i's first conv is conv 2 + 2i.
    ResNet-56-A: fractions 0.1/0.1/0.1, skip convs 16, 20, 38, 54
    ResNet-56-B: fractions 0.6/0.3/0.1, skip convs 16, 18, 20, 34, 38, 54
    ResNet-110-A: fractions 0.5/0.0/0.0, skip conv 36
    ResNet-110-B: fractions 0.5/0.4/0.3, skip convs 36, 38, 74
"""
from __future__ import annotations

from registry.errors import UserError

VGG16_A = [32, 64, 128, 128, 256, 256, 256, 256, 256, 256, 256, 256, 256]
RESNET = {
    ("resnet56_l1", "A"): ((0.1, 0.1, 0.1), (16, 20, 38, 54)),
    ("resnet56_l1", "B"): ((0.6, 0.3, 0.1), (16, 18, 20, 34, 38, 54)),
    ("resnet110_l1", "A"): ((0.5, 0.0, 0.0), (36,)),
    ("resnet110_l1", "B"): ((0.5, 0.4, 0.3), (36, 38, 74)),
}
VARIANTS = {"vgg16_l1": ("A",), "resnet56_l1": ("A", "B"), "resnet110_l1": ("A", "B"),
            "resnet34_imagenet": ("A", "B")}  # ImageNet ResNet-34-A/B: tickets/pruning/structured/imagenet_presets.py


def check_variant(model: str, variant: str) -> None:
    if model not in VARIANTS:
        raise UserError(f"method l1_filter has no preset variant {variant!r} for model {model}; presets exist for "
                        f"{', '.join(VARIANTS)} (or give a uniform channel ratio as the sparsity, variant '')")
    if variant not in VARIANTS[model]:
        raise UserError(f"model {model} has L1-norm variants {', '.join(VARIANTS[model])}, not {variant!r}")


def preset_counts(model: str, variant: str) -> dict[str, int]:
    """Kept filters per channel group of the preset (groups not named keep all)."""
    check_variant(model, variant)
    if model == "vgg16_l1":
        return {f"conv{i + 1}": n for i, n in enumerate(VGG16_A)}
    if model == "resnet34_imagenet":
        from tickets.pruning.structured.imagenet_presets import resnet34_counts

        return resnet34_counts(variant)
    fractions, skip = RESNET[(model, variant)]
    depth = int(model[len("resnet"):-len("_l1")])
    n = (depth - 2) // 6
    counts = {}
    for block in range(3 * n):
        conv = 2 + 2 * block  # the released code's conv number of this block's first conv
        stage = block // n
        width = (16, 32, 64)[stage]
        counts[f"block{block + 1}"] = width if conv in skip else int(width * (1 - fractions[stage]))
    return counts
