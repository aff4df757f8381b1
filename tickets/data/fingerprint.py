"""A short fingerprint of the data a run trained on, recorded in meta.json and the store
(`runs.data_fingerprint`): two runs of one key on different copies of a dataset (a re-download,
another decode, a different mirror) can then be told apart, and reports mark cells that pool them.

- a decoded tensor cache (`<root>/<name>/<name>.uint8.pt`): sha256 of the file, computed once per
  (size, mtime) and remembered next to it in `<file>.sha256` (CIFAR's 180 MB take ~0.5 s once);
- a folder of files (a streamed dataset): sha256 of the sorted list of relative paths and sizes;
- generated data (`synthetic`): sha256 of the generated tensors (cheap, and deterministic)."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

LENGTH = 16
CHUNK = 1 << 20


def _file_hash(path: Path) -> str:
    stat = path.stat()
    memo = path.with_name(path.name + ".sha256")
    stamp = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    try:
        known = json.loads(memo.read_text())
        if {k: known.get(k) for k in stamp} == stamp and isinstance(known.get("sha256"), str):
            return known["sha256"]
    except (OSError, ValueError, AttributeError):
        pass
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            digest.update(block)
    value = digest.hexdigest()
    try:
        from registry.atomic import write_json

        write_json(memo, {**stamp, "sha256": value})
    except OSError:  # a read-only data root: hash again next time
        pass
    return value


def _folder_hash(folder: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    count = 0
    for base, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            path = Path(base, name)
            if name.endswith(".sha256"):
                continue
            digest.update(f"{path.relative_to(folder)}\0{path.stat().st_size}\n".encode())
            count += 1
    return digest.hexdigest(), count


def _tensor_hash(name: str, root) -> str:
    from tickets.data import load_dataset

    data = load_dataset(name, root=root)
    digest = hashlib.sha256()
    for split in ("x_train", "y_train", "x_test", "y_test"):
        digest.update(getattr(data, split).contiguous().numpy().tobytes())
    return digest.hexdigest()


def data_fingerprint(name: str, root: str | os.PathLike | None = None) -> str | None:
    """"<how>:<hash16>" for dataset `name` as found on this machine (None when it is not here):
    `file:` a decoded tensor file, `files:` a folder listing (paths and sizes), `tensors:` data
    generated in memory."""
    from tickets.data.base import DATASETS, data_root, locate

    source = DATASETS.get(name)
    if source.files:  # streamed (imagenet, image folders): the folder listing, never decoded tensors
        where = source.locate(data_root(root))
        if where is None:
            return None
        value, count = _folder_hash(where)
        return f"files:{value[:LENGTH]}" if count else None
    if not source.cached:
        return f"tensors:{_tensor_hash(name, root)[:LENGTH]}"
    where = locate(name, root)
    if where is None:
        return None
    if where.is_file():
        return f"file:{_file_hash(where)[:LENGTH]}"
    value, count = _folder_hash(where)
    return f"files:{value[:LENGTH]}" if count else None
