"""Tiny-ImageNet from the folder as distributed (`tiny-imagenet-200/`), no file moving needed.

Expected under `<root>/tinyimagenet/` (or directly under `<root>/`): `tiny-imagenet-200/wnids.txt`,
`train/<wnid>/images/*.JPEG` and `val/images/*.JPEG` with `val/val_annotations.txt` (file, wnid, box
per line). The labelled val split is the test set. Class index = position of the wnid in the
SORTED list of wnids.txt entries (the order torchvision's ImageFolder would give the train folders).
Train images are ordered by class, then file name; test images follow val_annotations.txt."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from registry.errors import UserError
from tickets.data.base import register_dataset
from tickets.data.info import DatasetInfo

TINYIMAGENET = DatasetInfo("tinyimagenet", 3, 64, 200, mean=(0.4802, 0.4481, 0.3975),
                           std=(0.2770, 0.2691, 0.2821), crop_padding=4)
FOLDER = "tiny-imagenet-200"


def locate(root: Path) -> Path | None:
    for candidate in (root / "tinyimagenet" / FOLDER, root / FOLDER):
        if ((candidate / "wnids.txt").is_file() and (candidate / "train").is_dir()
                and (candidate / "val" / "val_annotations.txt").is_file()):
            return candidate
    return None


def expected(root: Path) -> str:
    return (f"{root / 'tinyimagenet' / FOLDER}/ with wnids.txt, train/<wnid>/images/*.JPEG, "
            f"val/images/*.JPEG and val/val_annotations.txt (the folder as distributed)")


def _read_image(path: Path, size: int):
    """One image as a [3, size, size] uint8 tensor (grayscale JPEGs are expanded to RGB)."""
    import numpy as np
    import torch
    from PIL import Image

    try:
        with Image.open(path) as im:
            array = np.array(im.convert("RGB"))
    except OSError as exc:
        raise UserError(f"cannot decode Tiny-ImageNet image {path}: {exc}") from None
    if array.shape != (size, size, 3):
        raise UserError(f"{path} is {array.shape[1]}x{array.shape[0]} pixels; Tiny-ImageNet images are {size}x{size}")
    return torch.from_numpy(array).permute(2, 0, 1)


def _stack(paths: list[Path], size: int):
    import torch

    out = torch.empty((len(paths), 3, size, size), dtype=torch.uint8)
    for i, path in enumerate(paths):
        out[i] = _read_image(path, size)
    return out


@register_dataset(TINYIMAGENET, locate=locate, expected=expected)
def decode_tinyimagenet(folder: Path) -> dict[str, Any]:
    import torch

    wnids = sorted({line.strip() for line in (folder / "wnids.txt").read_text().splitlines() if line.strip()})
    if len(wnids) > TINYIMAGENET.num_classes:
        raise UserError(f"{folder / 'wnids.txt'} lists {len(wnids)} classes; Tiny-ImageNet has 200")
    index = {wnid: i for i, wnid in enumerate(wnids)}

    train_paths, train_labels = [], []
    for wnid in wnids:
        images = folder / "train" / wnid / "images"
        files = sorted(p for p in images.glob("*") if p.suffix.lower() in (".jpeg", ".jpg", ".png"))
        if not files:
            raise UserError(f"no training images for class {wnid} in {images}")
        train_paths += files
        train_labels += [index[wnid]] * len(files)

    test_paths, test_labels = [], []
    annotations = folder / "val" / "val_annotations.txt"
    for number, line in enumerate(annotations.read_text().splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split("\t") if "\t" in line else line.split()
        if len(fields) < 2 or fields[1] not in index:
            raise UserError(f"{annotations} line {number}: expected '<file>\\t<wnid>...' with a wnid "
                            f"from wnids.txt, got {line!r}")
        path = folder / "val" / "images" / fields[0]
        if not path.is_file():
            raise UserError(f"{annotations} line {number} names {path}, which does not exist")
        test_paths.append(path)
        test_labels.append(index[fields[1]])

    size = TINYIMAGENET.size
    return {
        "x_train": _stack(train_paths, size), "y_train": torch.tensor(train_labels, dtype=torch.int64),
        "x_test": _stack(test_paths, size), "y_test": torch.tensor(test_labels, dtype=torch.int64),
    }
