"""The read snapshot: readers and a running sweep never wait for each other.

DuckDB lets one process open a database file read-write, and only while no other process has it
open at all, even read-only. With readers on the store file itself, a `tickets sql` or a report
during a sweep made the sweep's next ingest wait ("store.duckdb is held by ..."), and a report
waited for the sweep's writes in turn. So readers never open the store file:

- the writer, at the end of each write session and still under `store.lock`, checkpoints and
  closes the store and copies it whole to `.store.read.duckdb.<pid>-<host>.tmp`, then renames that
  over `store.read.duckdb` (one `os.replace`, atomic on POSIX);
- readers open `store.read.duckdb` read-only while it carries the store's modification time or a
  registry writer (named in `store.lock`, which readers read but never lock) is at work; a store
  written by anything else is read directly, as before. Readers only ever share-lock it and the writer never
  opens it with DuckDB, so no reader waits for a writer or holds one up. A reader that opened the
  old snapshot keeps reading it (on Linux an open file outlives its name), so every read sees the
  store as of one finished write session, never half of one;
- the old snapshot needs no deleting: the rename unlinks it, and the kernel frees it when its last
  reader closes. A killed copy leaves only a temporary, swept like every other (registry.sweep).

Cost: one file copy per write session (docs/ARCHITECTURE.md, "Read snapshots", has the measurements)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

READ_SUFFIX = ".read"


def snapshot_path(store_path: Path) -> Path:
    """`store.duckdb` -> `store.read.duckdb` (beside it)."""
    return store_path.with_name(store_path.stem + READ_SUFFIX + store_path.suffix)


def publish(store_path: Path) -> Path:
    """Copy the closed, checkpointed store to its snapshot atomically (the caller holds the store lock)."""
    from registry.sweep import writer_tag

    target = snapshot_path(store_path)
    tmp = target.with_name(f".{target.name}.{writer_tag()}.tmp")
    try:
        shutil.copyfile(store_path, tmp)  # copy_file_range/sendfile on Linux: no Python-side buffers
        source = store_path.stat()
        os.utime(tmp, ns=(source.st_atime_ns, source.st_mtime_ns))  # the stamp `readable` compares
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def readable(store_path: Path, lock_path: Path) -> Path | None:
    """The file a reader opens (None when there is no store): the snapshot while it carries the
    store's modification time, or while a registry writer is at work (its snapshot follows);
    otherwise the store itself: a home no writer of this version has published yet, or a store
    something else wrote to (a notebook's own read-write connection)."""
    target = snapshot_path(store_path)
    try:
        snap = target.stat().st_mtime_ns
    except FileNotFoundError:
        snap = None
    try:
        store = store_path.stat().st_mtime_ns
    except FileNotFoundError:
        return None
    if snap is None:
        return store_path
    return target if snap == store or writing(lock_path) else store_path


def mark_writing(lock: Any) -> None:
    """Say in the (held) lock file which process writes now; readers read it, never lock it."""
    from registry.sweep import host_tag

    lock.seek(0)
    lock.truncate()
    lock.write(f"{os.getpid()} {host_tag()}\n")
    lock.flush()


def unmark_writing(lock: Any) -> None:
    lock.seek(0)
    lock.truncate()
    lock.flush()


def writing(lock_path: Path) -> bool:
    """A live registry writer's mark is in the lock file (a killed writer's mark is ignored)."""
    from registry.lease import pid_dead
    from registry.sweep import host_tag

    try:
        pid, host = lock_path.read_text().split()
        pid = int(pid)
    except (OSError, ValueError):
        return False
    return host != host_tag() or not pid_dead(pid)
