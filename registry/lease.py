"""A lease per running stage, so two schedulers (or two SLURM jobs) never run the same stage.

The lease is `<rundir>/lease.json` holding host, pid, a random token and a heartbeat time the
worker refreshes. It is published whole: written to a temporary file, then hard-linked to its name
(which fails when a lease exists: O_EXCL semantics), so no reader ever sees an empty or half-written
lease from a live writer; one that is empty or unreadable anyway (an older writer killed mid-write,
damage) is stale after a short grace (`TICKETS_LEASE_GRACE`, 5 s) instead of the whole timeout. It is stale when the heartbeat is older than the
timeout, or when it names a dead process on this host. Check-and-reclaim and heartbeat writes
happen under an fcntl lock on `<rundir>/lease.lock`, so a stale lease is replaced by exactly one
claimant and a late heartbeat never overwrites a lease that was reclaimed meanwhile."""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

LEASE_FILE = "lease.json"
GUARD_FILE = "lease.lock"


def torn_grace() -> float:
    """Seconds an unreadable lease.json counts as live (env TICKETS_LEASE_GRACE)."""
    return float(os.environ.get("TICKETS_LEASE_GRACE", "5"))


def lease_timeout() -> float:
    """Seconds without a heartbeat after which a lease is stale (env TICKETS_LEASE_TIMEOUT)."""
    return float(os.environ.get("TICKETS_LEASE_TIMEOUT", "120"))


@dataclass(frozen=True)
class Lease:
    rundir: Path
    token: str

    @property
    def path(self) -> Path:
        return self.rundir / LEASE_FILE


@contextlib.contextmanager
def _guard(rundir: Path) -> Iterator[None]:
    rundir.mkdir(parents=True, exist_ok=True)
    with open(rundir / GUARD_FILE, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def read_lease(rundir: Path) -> dict[str, Any] | None:
    path = Path(rundir) / LEASE_FILE
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    try:
        info = json.loads(text)
    except ValueError:
        info = None
    if isinstance(info, dict):
        return info
    try:  # empty or torn: live only for a short grace from its last write
        return {"heartbeat": path.stat().st_mtime, "host": None, "pid": None, "token": None, "torn": True}
    except FileNotFoundError:
        return None


def pid_dead(pid: int) -> bool:
    """This host's process `pid` is gone (or a zombie): its lease or temporaries are orphans."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:  # a zombie (killed, not yet reaped) holds nothing
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def is_live(info: dict[str, Any] | None, timeout: float | None = None) -> bool:
    if not info:
        return False
    timeout = lease_timeout() if timeout is None else timeout
    if info.get("torn"):
        timeout = min(timeout, torn_grace())
    if time.time() - float(info.get("heartbeat") or 0) > timeout:
        return False
    if info.get("host") == socket.gethostname() and info.get("pid") and pid_dead(int(info["pid"])):
        return False
    return True


def holder(rundir: Path) -> dict[str, Any] | None:
    """The live lease on `rundir`, or None when it is free or stale."""
    info = read_lease(rundir)
    return info if is_live(info) else None


def _temporary(path: Path, token: str) -> Path:
    from registry.sweep import writer_tag  # named after its writer, so a sweep knows when it is stray

    return path.with_name(f".{path.name}.{token}.{writer_tag()}.tmp")


def _write_file(path: Path, info: dict[str, Any], flags: int) -> None:
    fd = os.open(path, flags | os.O_WRONLY, 0o644)
    with os.fdopen(fd, "w") as fh:
        json.dump(info, fh)
        fh.flush()
        os.fsync(fh.fileno())


def _write_new(path: Path, info: dict[str, Any]) -> None:
    """Publish a complete lease under `path`, or raise FileExistsError when one is there."""
    tmp = _temporary(path, info["token"])
    _write_file(tmp, info, os.O_CREAT | os.O_TRUNC)
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise
    except OSError:  # a filesystem without hard links: exclusive create, then write
        _write_file(path, info, os.O_CREAT | os.O_EXCL)
    finally:
        tmp.unlink(missing_ok=True)


def acquire(rundir: str | os.PathLike) -> Lease | None:
    """Take the lease on `rundir`; None when someone else holds a live one."""
    rundir = Path(rundir)
    token = uuid.uuid4().hex
    info = {"host": socket.gethostname(), "pid": os.getpid(), "token": token, "heartbeat": time.time()}
    with _guard(rundir):
        current = read_lease(rundir)
        if current is not None:
            if is_live(current):
                return None
            (rundir / LEASE_FILE).unlink(missing_ok=True)  # stale: reclaim
        try:
            _write_new(rundir / LEASE_FILE, info)
        except FileExistsError:
            return None
    return Lease(rundir, token)


def heartbeat(lease: Lease) -> bool:
    """Refresh the heartbeat; False when the lease is no longer ours (it was reclaimed)."""
    with _guard(lease.rundir):
        current = read_lease(lease.rundir)
        if not current or current.get("token") != lease.token:
            return False
        current["heartbeat"] = time.time()
        tmp = _temporary(lease.path, lease.token)
        tmp.write_text(json.dumps(current))
        os.replace(tmp, lease.path)
    return True


def release(lease: Lease) -> None:
    with _guard(lease.rundir):
        current = read_lease(lease.rundir)
        if current and current.get("token") == lease.token:
            lease.path.unlink(missing_ok=True)
