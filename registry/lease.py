"""A lease per running stage, so two schedulers (or two SLURM jobs) never run the same stage.

The lease is `<rundir>/lease.json` created with O_CREAT|O_EXCL and holding host, pid, a random
token and a heartbeat time the worker refreshes. It is stale when the heartbeat is older than the
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
    except ValueError:  # being written right now: count it as fresh
        try:
            return {"heartbeat": path.stat().st_mtime, "host": None, "pid": None, "token": None}
        except FileNotFoundError:
            return None
    return info if isinstance(info, dict) else None


def _pid_dead(pid: int) -> bool:
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
    if time.time() - float(info.get("heartbeat") or 0) > timeout:
        return False
    if info.get("host") == socket.gethostname() and info.get("pid") and _pid_dead(int(info["pid"])):
        return False
    return True


def holder(rundir: Path) -> dict[str, Any] | None:
    """The live lease on `rundir`, or None when it is free or stale."""
    info = read_lease(rundir)
    return info if is_live(info) else None


def _write_new(path: Path, info: dict[str, Any]) -> None:
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    with os.fdopen(fd, "w") as fh:
        json.dump(info, fh)
        fh.flush()
        os.fsync(fh.fileno())


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
        tmp = lease.rundir / f".{LEASE_FILE}.{lease.token}.tmp"
        tmp.write_text(json.dumps(current))
        os.replace(tmp, lease.path)
    return True


def release(lease: Lease) -> None:
    with _guard(lease.rundir):
        current = read_lease(lease.rundir)
        if current and current.get("token") == lease.token:
            lease.path.unlink(missing_ok=True)
