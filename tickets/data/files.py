"""File-backed datasets: lists of image files and labels, decoded while training, never into one tensor.

ImageNet at 224 px is ~193 GB as uint8 and its augmentation (RandomResizedCrop) needs the original
JPEGs, so `load_dataset` returns a `FileData` for such datasets instead of a `TensorData`; the
training code streams it (tickets.train.streaming). A `FileData` is cheap to copy: the data sanity
checks make views of it (`view`: an index subset, replaced labels, a per-image pixel permutation
applied after the crop) exactly as they make corrupted tensors of a TensorData.

Also the folder scanning shared by `imagenet` and `imagefolder` datasets: class folders in sorted
order (torchvision's ImageFolder), files in sorted order, one clear line for a file that is not an
image by its name (decoding problems are reported by the loader, naming the file)."""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

from registry.errors import UserError
from tickets.data.info import DatasetInfo

JPEG_SUFFIXES = (".jpeg", ".jpg")
IMAGE_SUFFIXES = JPEG_SUFFIXES + (".png",)


@dataclass(frozen=True)
class FileData:
    """A file-backed dataset (or a view of one's training split).

    `pixel_seed`: when set, every training image's C·H·W values are reordered by its own random
    permutation (the `random_pixels` check), drawn from (pixel_seed, the image's index in this
    view) after the crop, so it is a pure function of the view like the tensor path's."""

    info: DatasetInfo
    train_files: tuple[str, ...]
    train_labels: tuple[int, ...]
    test_files: tuple[str, ...]
    test_labels: tuple[int, ...]
    classes: tuple[str, ...] = ()  # class folder names (wnids) in index order
    pixel_seed: int | None = None

    streaming = True  # tickets.train.batches.is_streaming: not a dataclass field

    @property
    def num_train(self) -> int:
        return len(self.train_files)

    @property
    def num_test(self) -> int:
        return len(self.test_files)

    @property
    def y_train(self):
        import torch

        return torch.tensor(self.train_labels, dtype=torch.int64)

    @property
    def y_test(self):
        import torch

        return torch.tensor(self.test_labels, dtype=torch.int64)

    def view(self, *, indices: Sequence[int] | None = None, labels: Sequence[int] | None = None,
             pixel_seed: int | None = None) -> "FileData":
        """The training split restricted to `indices` (in that order), then with `labels` replacing
        the labels and/or images pixel-permuted from `pixel_seed`. The test split is untouched."""
        files, ys = self.train_files, self.train_labels
        if indices is not None:
            files = tuple(files[int(i)] for i in indices)
            ys = tuple(ys[int(i)] for i in indices)
        if labels is not None:
            if len(labels) != len(files):
                raise UserError(f"{len(labels)} labels for {len(files)} training images")
            ys = tuple(int(v) for v in labels)
        return replace(self, train_files=files, train_labels=ys,
                       pixel_seed=self.pixel_seed if pixel_seed is None else int(pixel_seed))

    def __repr__(self) -> str:
        extra = f", pixels permuted (seed {self.pixel_seed})" if self.pixel_seed is not None else ""
        return (f"FileData({self.info.name}: {self.num_train} train / {self.num_test} test files, "
                f"{self.info.num_classes} classes{extra})")


def class_folders(folder: Path) -> list[str]:
    """Sub-folder names of `folder`, sorted (ImageFolder's class order)."""
    with os.scandir(folder) as entries:
        return sorted(e.name for e in entries if e.is_dir() and not e.name.startswith("."))


def image_files(folder: Path, suffixes: Sequence[str] = IMAGE_SUFFIXES) -> list[str]:
    """The image files directly in `folder`, sorted by name. A file with another suffix is one
    clear error naming it (hidden files and a few known non-image companions are skipped)."""
    files = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.startswith(".") or not entry.is_file():
                continue
            if not entry.name.lower().endswith(tuple(suffixes)):
                if entry.name.lower().endswith((".txt", ".csv", ".xml", ".mat")):
                    continue
                raise UserError(f"{Path(folder) / entry.name} is not an image file "
                                f"(expected {'/'.join(s.lstrip('.') for s in suffixes)})")
            files.append(entry.name)
    return [str(Path(folder) / name) for name in sorted(files)]


def scan_class_tree(folder: Path, classes: Sequence[str] | None = None,
                    suffixes: Sequence[str] = IMAGE_SUFFIXES) -> tuple[list[str], list[int], list[str]]:
    """(files, labels, classes) of a `<folder>/<class>/*` tree; `classes` fixes the class order
    (e.g. the training split's) and a class folder outside it is an error."""
    found = class_folders(folder)
    if not found:
        raise UserError(f"{folder} has no class sub-folders (expected {folder}/<class>/<image>)")
    order = list(found if classes is None else classes)
    index = {name: i for i, name in enumerate(order)}
    unknown = [name for name in found if name not in index]
    if unknown:
        raise UserError(f"{folder / unknown[0]} is a class folder the training split does not have")
    files, labels = [], []
    for name in found:
        these = image_files(folder / name, suffixes)
        files += these
        labels += [index[name]] * len(these)
    if not files:
        raise UserError(f"no images under {folder}")
    return files, labels, order


def check_classes(info: DatasetInfo, classes: Sequence[str], where: Path) -> None:
    if len(classes) > info.num_classes:
        raise UserError(f"{where} has {len(classes)} classes; dataset {info.name} has {info.num_classes}")
