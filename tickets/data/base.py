"""The dataset registry, the data root, and decode-once caching.

A dataset is registered as a `DatasetSource`: its `DatasetInfo` (known without any files), a
`locate(root)` that finds its files, a `decode(folder)` that turns them into uint8/int64 tensors,
and a line saying which files are expected where. `load_dataset` decodes once and caches the
tensors as `<root>/<name>/<name>.uint8.pt`, so later runs start from one fast `torch.load`."""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from registry.atomic import write_atomic
from registry.errors import UserError
from registry.naming import Registry
from tickets.data.info import DatasetInfo, TensorData

DEFAULT_ROOT = "~/.cache/tickets/data"
SPLITS = ("x_train", "y_train", "x_test", "y_test")


@dataclass(frozen=True)
class DatasetSource:
    info: DatasetInfo
    locate: Callable[[Path], Path | None]  # root -> folder holding the files, or None if absent
    decode: Callable[[Path], dict[str, Any]]  # that folder -> {x_train, y_train, x_test, y_test}
    expected: Callable[[Path], str]  # root -> "which files, where" for messages and listings
    download: Callable[[Path], None] | None = None  # fetch into root/<name>/ (may raise)
    cached: bool = True  # False for generated data that is cheaper to make than to load
    files: bool = False  # True: decode() returns a file-backed FileData (streamed, tickets.data.files)

    @property
    def name(self) -> str:
        return self.info.name


DATASETS: Registry[DatasetSource] = Registry("dataset")


def register_dataset(info: DatasetInfo, *, locate, expected, download=None, cached: bool = True):
    """Decorator on a decode function: register it with its info and file locator under info.name."""
    def decorate(decode):
        DATASETS.register(info.name)(DatasetSource(info, locate, decode, expected, download, cached))
        return decode

    return decorate


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The data root: the argument, else $TICKETS_DATA, else ~/.cache/tickets/data."""
    chosen = root if root not in (None, "") else os.environ.get("TICKETS_DATA") or DEFAULT_ROOT
    return Path(chosen).expanduser().resolve()


def dataset_names() -> list[str]:
    return DATASETS.names()


def dataset_info(name: str) -> DatasetInfo:
    """Shape, classes and normalisation of `name`, without touching any file."""
    return DATASETS.get(name).info


def cache_path(name: str, root: str | os.PathLike | None = None) -> Path:
    return data_root(root) / name / f"{name}.uint8.pt"


def downloads_allowed() -> bool:
    """Downloads are tried unless TICKETS_DOWNLOAD is 0/false/no (tests and offline clusters)."""
    return os.environ.get("TICKETS_DOWNLOAD", "1").strip().lower() not in ("0", "false", "no", "off")


def locate(name: str, root: str | os.PathLike | None = None) -> Path | None:
    """Where `name`'s files are (the cache counts), or None."""
    source = DATASETS.get(name)
    cache = cache_path(name, root)
    if source.cached and cache.exists():
        return cache
    return source.locate(data_root(root))


def load_dataset(name: str, root: str | os.PathLike | None = None) -> Any:
    """Decoded tensors of `name` (a TensorData): from the cache file when present, else decoded and
    cached. A file-backed dataset (ImageNet, image folders) returns its `FileData` (file lists and
    labels, scanned each time) instead: those are streamed, never decoded into one tensor."""
    source = DATASETS.get(name)
    base = data_root(root)
    cache = cache_path(name, base)
    if source.cached and cache.exists():
        tensors = _read_cache(cache, source.info)
        if tensors is not None:
            return TensorData(source.info, **tensors)
    folder = source.locate(base)
    if folder is None and source.download is not None and downloads_allowed():
        try:
            source.download(base)
        except Exception as exc:  # offline, mirror down, ...: the message below says what to do
            warnings.warn(f"download of {name} failed: {exc}", stacklevel=2)
        folder = source.locate(base)
    if folder is None:
        raise UserError(f"dataset {name}: files not found; expected {source.expected(base)}")
    if source.files:
        return source.decode(folder)
    tensors = _validated(source.decode(folder), source.info, origin=str(folder))
    if source.cached:
        _write_cache(cache, tensors)
    return TensorData(source.info, **tensors)


def _validated(tensors: dict[str, Any], info: DatasetInfo, origin: str) -> dict[str, Any]:
    import torch

    out = {}
    for split in ("train", "test"):
        x, y = tensors[f"x_{split}"], tensors[f"y_{split}"]
        x = torch.as_tensor(x).to(torch.uint8).contiguous()
        y = torch.as_tensor(y).to(torch.int64).contiguous()
        if x.dim() != 4 or tuple(x.shape[1:]) != info.shape or y.shape != (x.shape[0],):
            raise UserError(f"dataset {info.name}: {origin} decoded to images {tuple(x.shape)} and "
                            f"labels {tuple(y.shape)}; expected [N, {', '.join(map(str, info.shape))}]")
        if len(y) and (int(y.min()) < 0 or int(y.max()) >= info.num_classes):
            raise UserError(f"dataset {info.name}: {origin} has labels outside 0..{info.num_classes - 1}")
        out[f"x_{split}"], out[f"y_{split}"] = x, y
    return out


def _read_cache(path: Path, info: DatasetInfo) -> dict[str, Any] | None:
    import torch

    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
        return _validated({k: loaded[k] for k in SPLITS}, info, origin=str(path))
    except Exception as exc:  # truncated, corrupt or from another layout: decode again
        warnings.warn(f"ignoring unreadable dataset cache {path} ({exc}); decoding again", stacklevel=3)
        return None


def _write_cache(path: Path, tensors: dict[str, Any]) -> None:
    import torch

    try:
        write_atomic(path, lambda fh: torch.save(dict(tensors), fh))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(path, 0o666 & ~umask)  # mkstemp makes 0600; a shared data root needs the usual mode
    except OSError as exc:  # a read-only data root still trains, it just decodes every time
        warnings.warn(f"could not write dataset cache {path}: {exc}", stacklevel=3)
