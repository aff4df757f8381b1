"""CIFAR-10 and CIFAR-100 from torchvision's "python version" pickle folders.

Expected under `<root>/<name>/` (or directly under `<root>/`):
`cifar-10-batches-py/{data_batch_1..5, test_batch}` (keys b'data', b'labels') and
`cifar-100-python/{train, test}` (keys b'data', b'fine_labels': the 100 fine classes).
The pickles are parsed here rather than through torchvision's dataset classes, whose MD5 checks
reject anything but the exact published files; torchvision is used to download them."""
from __future__ import annotations

import pickle
from pathlib import Path
from typing import TYPE_CHECKING, Any

from registry.errors import UserError
from tickets.data.base import register_dataset
from tickets.data.info import DatasetInfo

if TYPE_CHECKING:  # pragma: no cover  (numpy loads where files are decoded)
    import numpy as np

CIFAR10 = DatasetInfo("cifar10", 3, 32, 10, mean=(0.4914, 0.4822, 0.4465),
                      std=(0.2023, 0.1994, 0.2010), crop_padding=4)
CIFAR100 = DatasetInfo("cifar100", 3, 32, 100, mean=(0.5071, 0.4867, 0.4408),
                       std=(0.2675, 0.2565, 0.2761), crop_padding=4)

LAYOUTS = {
    "cifar10": ("cifar-10-batches-py", [f"data_batch_{i}" for i in range(1, 6)], ["test_batch"], "labels"),
    "cifar100": ("cifar-100-python", ["train"], ["test"], "fine_labels"),
}


def _locator(name: str):
    folder, train, test, _ = LAYOUTS[name]

    def locate(root: Path) -> Path | None:
        for candidate in (root / name / folder, root / folder):
            if all((candidate / f).is_file() for f in train + test):
                return candidate
        return None

    def expected(root: Path) -> str:
        return f"{root / name / folder}/{{{', '.join(train + test)}}} (torchvision's python pickles)"

    return locate, expected


def _downloader(name: str):
    def download(root: Path) -> None:
        from torchvision import datasets

        cls = datasets.CIFAR10 if name == "cifar10" else datasets.CIFAR100
        cls(str(root / name), train=True, download=True)

    return download


def read_batch(path: Path, label_key: str) -> tuple[np.ndarray, np.ndarray]:
    """One pickled batch -> images [N, 3, 32, 32] uint8 and labels [N]."""
    import numpy as np

    with open(path, "rb") as fh:
        entry: dict[Any, Any] = pickle.load(fh, encoding="bytes")
    entry = {k.decode() if isinstance(k, bytes) else k: v for k, v in entry.items()}
    if "data" not in entry or label_key not in entry:
        raise UserError(f"{path} is not a CIFAR pickle batch: it lacks b'data' or b'{label_key}'")
    data = np.asarray(entry["data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
    return data, np.asarray(entry[label_key], dtype=np.int64)


def _decoder(name: str):
    _, train, test, label_key = LAYOUTS[name]

    def decode(folder: Path) -> dict[str, Any]:
        import numpy as np

        import torch

        out = {}
        for split, files in (("train", train), ("test", test)):
            parts = [read_batch(folder / f, label_key) for f in files]
            out[f"x_{split}"] = torch.from_numpy(np.concatenate([p[0] for p in parts]))
            out[f"y_{split}"] = torch.from_numpy(np.concatenate([p[1] for p in parts]))
        return out

    decode.__name__ = f"decode_{name}"
    return decode


for _info in (CIFAR10, CIFAR100):
    _locate, _expected = _locator(_info.name)
    register_dataset(_info, locate=_locate, expected=_expected,
                     download=_downloader(_info.name))(_decoder(_info.name))
