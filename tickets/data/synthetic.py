"""Tiny generated datasets for tests and smoke runs: seeded, learnable, no files.

Each class has a fixed smooth random pattern; an example is its class pattern, shifted by up to
two pixels, at a random low contrast, plus pixel noise: a small network gets far above chance
within a couple of epochs, yet the task is not solved by one pixel or one step.
`synthetic` is 1x28x28 (the LeNets run on it), `synthetic32` is 3x32x32 (VGG and ResNet at CIFAR
shape). 512 train and 256 test examples, 10 classes, always the same tensors (seed 0)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from tickets.data.base import register_dataset
from tickets.data.info import DatasetInfo

SYNTHETIC = DatasetInfo("synthetic", 1, 28, 10, mean=(0.5,), std=(0.2,), crop_padding=0)
SYNTHETIC32 = DatasetInfo("synthetic32", 3, 32, 10, mean=(0.5, 0.5, 0.5), std=(0.2, 0.2, 0.2),
                          crop_padding=0)
TRAIN, TEST, SEED = 512, 256, 0
MAX_SHIFT = 2  # pixels a pattern may be rolled by, so memorising pixels is not enough


def generate(info: DatasetInfo, n_train: int = TRAIN, n_test: int = TEST, seed: int = SEED) -> dict[str, Any]:
    import torch
    from torch.nn import functional as F

    gen = torch.Generator().manual_seed(seed)
    coarse = torch.rand((info.num_classes, info.channels, 7, 7), generator=gen) * 2 - 1
    patterns = F.interpolate(coarse, size=(info.size, info.size), mode="bilinear", align_corners=False)
    patterns = patterns / patterns.abs().amax(dim=(1, 2, 3), keepdim=True)  # in [-1, 1]

    # every class pattern at every allowed shift, so examples are picked by indexing, not looping
    offsets = range(-MAX_SHIFT, MAX_SHIFT + 1)
    shifted = torch.stack([torch.roll(patterns, (dy, dx), dims=(2, 3)) for dy in offsets for dx in offsets])

    def split(n: int) -> tuple[Any, Any]:
        labels = torch.arange(n) % info.num_classes
        labels = labels[torch.randperm(n, generator=gen)]
        shift = torch.randint(0, len(shifted), (n,), generator=gen)
        contrast = 0.1 + 0.15 * torch.rand((n, 1, 1, 1), generator=gen)
        noise = 0.2 * torch.randn((n, info.channels, info.size, info.size), generator=gen)
        images = 0.5 + contrast * shifted[shift, labels] + noise
        return (images.clamp(0, 1) * 255).round().to(torch.uint8), labels.to(torch.int64)

    x_train, y_train = split(n_train)
    x_test, y_test = split(n_test)
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def _always(root: Path) -> Path:
    return root


def _nothing(root: Path) -> str:
    return "nothing (generated in memory)"


@register_dataset(SYNTHETIC, locate=_always, expected=_nothing, cached=False)
def decode_synthetic(folder: Path) -> dict[str, Any]:
    return generate(SYNTHETIC)


@register_dataset(SYNTHETIC32, locate=_always, expected=_nothing, cached=False)
def decode_synthetic32(folder: Path) -> dict[str, Any]:
    return generate(SYNTHETIC32)
