"""Sweep the temporaries writers killed mid-write leave behind (`.result.json.*.tmp`,
`.progress.json.*.tmp`, `.lease.json.*.tmp`, `.store.duckdb.*.tmp`), once their writer is gone.

Every temporary the registry writes ends in `.<pid>-<host tag>.tmp` (`writer_tag()`), so on the
host that wrote it a dead pid settles it at once; a temporary from another host, or from an older
version without the tag, goes when it is older than `STALE_SECONDS` (an atomic write takes
seconds, never minutes)."""
from __future__ import annotations

import hashlib
import os
import re
import socket
import time
from pathlib import Path

from registry.lease import pid_dead

STALE_SECONDS = float(os.environ.get("TICKETS_STALE_TEMP_SECONDS", "900"))
_TAG = re.compile(r"\.(\d+)-([0-9a-f]{8})\.tmp$")


def host_tag() -> str:
    return hashlib.sha1(socket.gethostname().encode()).hexdigest()[:8]


def writer_tag() -> str:
    """`<pid>-<host tag>`: what a temporary's name says about the process writing it."""
    return f"{os.getpid()}-{host_tag()}"


def writer_gone(path: Path, now: float | None = None) -> bool:
    """True when nothing will ever finish (rename) this temporary (or its DuckDB `.wal`)."""
    match = _TAG.search(path.name.removesuffix(".wal"))
    if match and match.group(2) == host_tag():
        pid = int(match.group(1))
        if pid == os.getpid():
            return False
        if pid_dead(pid):
            return True
    try:
        age = (time.time() if now is None else now) - path.stat().st_mtime
    except FileNotFoundError:
        return False
    return age > STALE_SECONDS


def is_temporary(name: str) -> bool:
    return name.startswith(".") and (name.endswith(".tmp") or name.endswith(".tmp.wal"))


def sweep_dir(folder: Path, depth: int = 1) -> list[Path]:
    """Remove the stray temporaries in `folder` (and its subfolders, `depth` levels down)."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return removed
    for entry in entries:
        path = Path(entry.path)
        if is_temporary(entry.name):
            if entry.is_file(follow_symlinks=False) and writer_gone(path):
                path.unlink(missing_ok=True)
                removed.append(path)
        elif depth > 0 and entry.is_dir(follow_symlinks=False) and not entry.name.startswith("."):
            removed += sweep_dir(path, depth - 1)
    return removed


def sweep_home(home: str | os.PathLike) -> list[Path]:
    """Every run directory (and its phase folders) under a home."""
    home = Path(home)
    removed = sweep_dir(home, depth=0)
    runs = home / "runs"
    if runs.is_dir():
        for entry in os.scandir(runs):
            if entry.is_dir(follow_symlinks=False) and not entry.name.startswith("."):
                removed += sweep_dir(Path(entry.path), depth=1)
    return removed
