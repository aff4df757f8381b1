"""Limits on one user query (`tickets sql`, `api.sql`): memory, threads and wall-clock time.

DuckDB's defaults suit a database server (80 % of the machine's memory, every core, no time limit);
a query typed during a days-long sweep must not take the memory or cores the sweep trains on, and
`SELECT count(*) FROM range(1e15)` must end. Memory and threads are connection settings, set before
`lock_configuration` freezes them; time is enforced by `con.interrupt()` from a timer, and Ctrl-C
(or SIGTERM while a query runs) interrupts the same way. Each way a query is stopped ends in one
line naming the limit and how to raise it.

Defaults: 2 GB, 2 threads, 60 s. Raise them with `tickets sql --memory 8GB --threads 8 --timeout 600`,
`api.sql(..., limits=SqlLimits(memory="8GB"))`, or TICKETS_SQL_MEMORY / TICKETS_SQL_THREADS /
TICKETS_SQL_TIMEOUT (0 = no time limit)."""
from __future__ import annotations

import os
import re
import signal
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from registry.errors import UserError

_MEMORY = re.compile(r"^\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class SqlLimits:
    memory: str = "2GB"
    threads: int = 2
    timeout_s: float = 60.0  # 0: none

    @classmethod
    def from_env(cls, memory: str | None = None, threads: int | None = None,
                 timeout_s: float | None = None) -> "SqlLimits":
        """Explicit values first, then TICKETS_SQL_* variables, then the defaults; each checked."""
        env = os.environ
        memory = memory if memory is not None else env.get("TICKETS_SQL_MEMORY", cls.memory)
        if not _MEMORY.match(str(memory)):
            raise UserError(f"SQL memory limit {memory!r} is not a size; give one like 2GB or 512MB")
        threads = threads if threads is not None else _number("TICKETS_SQL_THREADS", env.get("TICKETS_SQL_THREADS"), int)
        threads = cls.threads if threads is None else threads
        if int(threads) < 1:
            raise UserError(f"SQL thread limit {threads!r} must be at least 1")
        timeout_s = timeout_s if timeout_s is not None else _number("TICKETS_SQL_TIMEOUT", env.get("TICKETS_SQL_TIMEOUT"), float)
        timeout_s = cls.timeout_s if timeout_s is None else timeout_s
        if float(timeout_s) < 0:
            raise UserError(f"SQL time limit {timeout_s!r} must be >= 0 seconds (0: none)")
        return cls(memory=str(memory).replace(" ", ""), threads=int(threads), timeout_s=float(timeout_s))

    def settings(self) -> dict[str, Any]:
        """DuckDB settings for the connection (before lock_configuration)."""
        return {"memory_limit": self.memory, "threads": self.threads}


def _number(name: str, text: str | None, kind: Callable[[str], Any]) -> Any:
    if text is None or text.strip() == "":
        return None
    try:
        return kind(text)
    except ValueError:
        raise UserError(f"{name}={text!r} is not a number") from None


def run_limited(con: Any, run: Callable[[], Any], limits: SqlLimits) -> Any:
    """`run()` (which executes on `con`) in a thread, interrupted at the time limit or on Ctrl-C.

    The query runs off the main thread because DuckDB does not look at Python signals while it
    executes: the calling thread waits on an event in short steps, watching the clock and SIGINT, and calls
    `con.interrupt()`, which DuckDB honours between vectors, so a stop takes milliseconds."""
    import duckdb

    done = threading.Event()
    outcome: dict[str, Any] = {}
    why: list[str] = []

    def work() -> None:
        try:
            outcome["value"] = run()
        except BaseException as exc:  # handed to the waiting thread
            outcome["error"] = exc
        finally:
            done.set()

    def stop(reason: str) -> None:
        why.append(reason)
        while not done.wait(0.05):  # again until it ends: an interrupt before the query starts is lost
            con.interrupt()

    deadline = time.monotonic() + limits.timeout_s if limits.timeout_s > 0 else None
    interrupted = threading.Event()
    main = threading.current_thread() is threading.main_thread()
    # SIGINT sets a flag (even where the process inherited it ignored, as a script's background
    # job does), so `kill -INT` stops a query as Ctrl-C does; no exception lands mid-cleanup
    previous = signal.signal(signal.SIGINT, lambda *_: interrupted.set()) if main else None
    try:
        threading.Thread(target=work, name="tickets-sql", daemon=True).start()
        # short waits: Python runs signal handlers between them, whichever thread the OS woke
        while not done.wait(0.1):
            if interrupted.is_set():
                stop("interrupt")
            elif deadline is not None and time.monotonic() >= deadline:
                stop("time")
    except KeyboardInterrupt:  # a handler of the caller's own (not on the main thread)
        stop("interrupt")
    finally:
        if main:
            signal.signal(signal.SIGINT, previous)
    error = outcome.get("error")
    if error is None:
        return outcome.get("value")
    if why:
        if why[0] == "time":
            raise UserError(f"query stopped at the {limits.timeout_s:g} s time limit; raise it with "
                            f"--timeout SECONDS or TICKETS_SQL_TIMEOUT (0: none)") from None
        raise UserError("query stopped by Ctrl-C") from None
    if isinstance(error, duckdb.OutOfMemoryException):
        raise UserError(f"query needs more than the {limits.memory} memory limit; raise it with "
                        f"--memory SIZE or TICKETS_SQL_MEMORY (e.g. 8GB), or fewer threads with --threads") from None
    raise error
