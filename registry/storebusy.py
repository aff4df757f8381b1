"""When another process holds the store file: say who, in one line.

DuckDB lets one process write a database file, and refuses a read-write open while any other
process has it open, even read-only (a notebook's `duckdb.connect(store, read_only=True)` left
open). Its error names the holder's program and PID; /proc/PID/cmdline turns that into the command
line a user recognises ("python -m jupyter kernel ...")."""
from __future__ import annotations

import re
from pathlib import Path

from registry.errors import UserError



class StoreBusy(UserError):
    """The store's DuckDB file could not be opened because another process holds it."""

    def __init__(self, path: Path, holder: str, read_only: bool):
        self.path, self.holder, self.read_only = path, holder, read_only
        doing = "read" if read_only else "write"
        super().__init__(f"cannot {doing} {path}: it is held by {holder}; close that connection "
                         f"(or that program) and try again")


def holder_of(message: str) -> str:
    """'process 1234 (python notebook.py)' from DuckDB's lock error, as far as it can be told."""
    match = re.search(r"\(PID (\d+)\)", message)
    if not match:
        return "another process"
    pid = int(match.group(1))
    program = _cmdline(pid)
    if program is None:
        found = re.search(r"lock is held in (.+?) \(PID", message)
        program = found.group(1) if found else None
    return f"process {pid}" + (f" ({program})" if program else "")


def _cmdline(pid: int, limit: int = 120) -> str | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    text = " ".join(" ".join(part.decode(errors="replace").split()) for part in raw.split(b"\0") if part)
    return (text[:limit - 1] + "…") if len(text) > limit else (text or None)


def not_stored(count: int, busy: StoreBusy) -> str:
    """The one line a sweep prints when its finished runs could not be written to the store."""
    runs = f"{count} finished run{'s' if count != 1 else ''}"
    return (f"{runs} not stored yet: {busy.path} is held by {busy.holder}; the results stay in their run "
            f"directories and the next `tickets study run`, `tickets run` or `tickets store ingest` stores them")
