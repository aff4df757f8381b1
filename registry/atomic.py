"""Publish files whole or not at all: write to a temporary name in the same folder, fsync, rename.

Readers (the scheduler, ingest, a SLURM job on another node) never see a half-written file, and a
process killed mid-write leaves only a stray temporary, named after its writer so that
`registry.sweep` removes it once that writer is gone."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, IO


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def write_atomic(path: str | os.PathLike, write: Callable[[IO[bytes]], None]) -> Path:
    """Call `write(fileobj)` on a temporary file, then rename it over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    from registry.sweep import writer_tag  # the tag lets a sweep tell a dead writer's leftovers

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".{writer_tag()}.tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600; run files are shared on a cluster FS
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def check_writable(path: str | os.PathLike) -> Path:
    """Refuse, before any work, an output file that could not be published: one line naming why."""
    from registry.errors import UserError

    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise UserError(f"cannot write {path}: it is a folder")
    if not parent.is_dir():
        raise UserError(f"cannot write {path}: {parent} is not a writable folder (it does not exist)")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UserError(f"cannot write {path}: {parent} is not a writable folder (permission denied)")
    return path


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    return write_atomic(path, lambda fh: fh.write(data))


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    data = json.dumps(obj, indent=2, sort_keys=True, allow_nan=True, default=str).encode()
    return write_bytes(path, data + b"\n")


def append_jsonl(path: str | os.PathLike, obj: Any) -> None:
    """Append one line atomically: rewrite the file with the new line (files stay small)."""
    path = Path(path)
    old = path.read_bytes() if path.exists() else b""
    if old and not old.endswith(b"\n"):  # a torn last line from a killed writer
        old = old[: old.rfind(b"\n") + 1]
    write_bytes(path, old + json.dumps(obj, sort_keys=True, default=str).encode() + b"\n")


def loads(text: str) -> Any:
    """json.loads, with a file nested too deeply for Python's parser a ValueError like any other
    corrupt JSON (a RecursionError would stop every ingest and study run in a home)."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply to read") from None


def read_json(path: str | os.PathLike) -> Any:
    return loads(Path(path).read_text())


def read_jsonl(path: str | os.PathLike) -> list[Any]:
    path = Path(path)
    if not path.exists():
        return []
    return [loads(line) for line in path.read_text().splitlines() if line.strip()]
