"""SVHN (cropped digits, format 2) from its distributed MATLAB files, read with scipy.io.

Expected under `<root>/svhn/` (or directly under `<root>/`): `train_32x32.mat` and `test_32x32.mat`,
each with `X` uint8 [32, 32, 3, N] and `y` [N, 1] where the digit 0 is labelled 10 (mapped to 0
here). The usual out-of-distribution set for CIFAR-10 networks; torchvision downloads the same files."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from registry.errors import UserError
from tickets.data.base import register_dataset
from tickets.data.info import DatasetInfo

if TYPE_CHECKING:  # pragma: no cover  (numpy loads where files are decoded)
    import numpy as np

# per-channel statistics of the SVHN training split (used only when a network trains on SVHN)
SVHN = DatasetInfo("svhn", 3, 32, 10, mean=(0.4377, 0.4438, 0.4728), std=(0.1980, 0.2010, 0.1970),
                   crop_padding=4)
FILES = {"train": "train_32x32.mat", "test": "test_32x32.mat"}


def _locate(root: Path) -> Path | None:
    for candidate in (root / "svhn", root):
        if all((candidate / f).is_file() for f in FILES.values()):
            return candidate
    return None


def _expected(root: Path) -> str:
    return f"{root / 'svhn'}/{{{', '.join(FILES.values())}}} (the distributed .mat files)"


def _download(root: Path) -> None:
    from torchvision import datasets

    for split in FILES:
        datasets.SVHN(str(root / "svhn"), split=split, download=True)


def read_mat(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One SVHN .mat file -> images [N, 3, 32, 32] uint8 and labels [N] in 0..9."""
    import numpy as np

    from scipy.io import loadmat

    try:
        content = loadmat(str(path))
    except Exception as exc:  # scipy raises several types for a file that is not a MAT file
        raise UserError(f"{path} is not a MATLAB file ({exc})") from None
    if "X" not in content or "y" not in content:
        raise UserError(f"{path} is not an SVHN .mat file: it lacks X or y")
    x = np.ascontiguousarray(np.transpose(content["X"], (3, 2, 0, 1))).astype(np.uint8)
    y = content["y"].reshape(-1).astype(np.int64) % 10  # label 10 is the digit 0
    return x, y


@register_dataset(SVHN, locate=_locate, expected=_expected, download=_download)
def decode_svhn(folder: Path) -> dict[str, Any]:
    import torch

    out = {}
    for split, name in FILES.items():
        x, y = read_mat(folder / name)
        out[f"x_{split}"], out[f"y_{split}"] = torch.from_numpy(x), torch.from_numpy(y)
    return out
