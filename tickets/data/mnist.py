"""MNIST and Fashion-MNIST from the IDX files (raw or .gz), in torchvision's layout or the Debian one.

Searched, in order, for each dataset (Name = MNIST or FashionMNIST):
`<root>/<name>/<Name>/raw/`, `<root>/<Name>/raw/`, `<root>/<name>/raw/`, `<root>/<name>/`, and for
Fashion-MNIST `/usr/share/datasets/fashion-mnist/` (the Debian package dataset-fashion-mnist).
Each folder must hold train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and
t10k-labels-idx1-ubyte, each optionally gzipped."""
from __future__ import annotations

import gzip
from pathlib import Path
from typing import TYPE_CHECKING, Any

from registry.errors import UserError
from tickets.data.base import register_dataset
from tickets.data.info import DatasetInfo

if TYPE_CHECKING:  # pragma: no cover  (numpy loads where files are decoded)
    import numpy as np

MNIST = DatasetInfo("mnist", 1, 28, 10, mean=(0.1307,), std=(0.3081,), crop_padding=0)
FASHIONMNIST = DatasetInfo("fashionmnist", 1, 28, 10, mean=(0.2860,), std=(0.3530,), crop_padding=0)

DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")
FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
TORCHVISION_NAMES = {"mnist": "MNIST", "fashionmnist": "FashionMNIST"}
IDX_DTYPES = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path) -> np.ndarray:
    """Parse one IDX file (gzipped or not): magic 0 0 <dtype> <ndim>, big-endian int32 dims, data."""
    import numpy as np

    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_DTYPES:
        raise UserError(f"{path} is not an IDX file (bad magic number)")
    ndim = raw[3]
    dims = np.frombuffer(raw, dtype=">i4", count=ndim, offset=4).astype(np.int64)
    dtype = np.dtype(IDX_DTYPES[raw[2]])
    count = int(np.prod(dims)) if ndim else 1
    offset = 4 + 4 * ndim
    if len(raw) - offset < count * dtype.itemsize:
        raise UserError(f"{path} is truncated: header says {tuple(dims)} but the data is shorter")
    return np.frombuffer(raw, dtype=dtype, count=count, offset=offset).reshape(tuple(dims))


def _find(folder: Path, stem: str) -> Path | None:
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _candidates(name: str, root: Path) -> list[Path]:
    tv = TORCHVISION_NAMES[name]
    folders = [root / name / tv / "raw", root / tv / "raw", root / name / "raw", root / name]
    if name == "fashionmnist":
        folders.append(DEBIAN_FASHION)
    return folders


def _locator(name: str):
    def locate(root: Path) -> Path | None:
        for folder in _candidates(name, root):
            if all(_find(folder, stem) for stem in FILES.values()):
                return folder
        return None

    def expected(root: Path) -> str:
        where = " or ".join(str(f) for f in _candidates(name, root)[:2])
        extra = f" (or the Debian package dataset-fashion-mnist in {DEBIAN_FASHION})" \
            if name == "fashionmnist" else ""
        return f"{', '.join(FILES.values())} (optionally .gz) in {where}{extra}"

    return locate, expected


def _downloader(name: str):
    def download(root: Path) -> None:
        from torchvision import datasets

        getattr(datasets, TORCHVISION_NAMES[name])(str(root / name), train=True, download=True)

    return download


def decode_idx_folder(folder: Path) -> dict[str, Any]:
    import numpy as np
    import torch

    out = {}
    for key, stem in FILES.items():
        array = read_idx(_find(folder, stem))
        if key.startswith("x"):
            out[key] = torch.from_numpy(array.astype(np.uint8)).unsqueeze(1)  # [N, 1, 28, 28]
        else:
            out[key] = torch.from_numpy(array.astype(np.int64))
    return out


for _info in (MNIST, FASHIONMNIST):
    _locate, _expected = _locator(_info.name)
    register_dataset(_info, locate=_locate, expected=_expected,
                     download=_downloader(_info.name))(decode_idx_folder)
