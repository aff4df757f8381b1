"""Sweep progress as plain lines, for output that is not a terminal (a log file, nohup, CI, SLURM):
one line when a stage starts, finishes or fails, each with the time, the count and an ETA, instead
of a live bar that reaches a log only as one frame at the end.

    08:50:12 start   3/32  a1b2c3d4 ticket   fashion_mnist/lenet300 snip p=0.9 seed=0
    08:50:40 done    4/32  a1b2c3d4 ticket   fashion_mnist/lenet300 snip p=0.9 seed=0 (28s) ETA 09:04 (14m left)

The ETA assumes the stages still to run take as long, on average, as those finished in this sweep
(wall time per finished stage, so parallel workers are accounted for). `TICKETS_PROGRESS=lines` or
`bar` overrides the choice made from the console."""
from __future__ import annotations

import os
import time
from typing import Any, Mapping


def wants_lines(console: Any) -> bool:
    choice = os.environ.get("TICKETS_PROGRESS", "").strip().lower()
    if choice in ("lines", "bar"):
        return choice == "lines"
    return not getattr(console, "is_terminal", False)


def _duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class LineProgress:
    """Same interface as the scheduler's live bar: start / update / finish, used as a context."""

    def __init__(self, console: Any, total: int, done: int, clock=time.time):
        self.console = console
        self.total = total
        self.done = done
        self.clock = clock
        self.began = clock()
        self.finished_now = 0
        self.started: dict[str, float] = {}
        self.labels: dict[str, str] = {}

    def __enter__(self) -> "LineProgress":
        self._line(f"sweep   {self.done}/{self.total} stages done, {self.total - self.done} to run")
        return self

    def __exit__(self, *exc: Any) -> None:
        self._line(f"end     {self.done}/{self.total} stages done after {_duration(self.clock() - self.began)}")

    def _line(self, text: str) -> None:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.clock()))
        self.console.print(f"{stamp} {text}", markup=False, highlight=False, soft_wrap=True)

    def eta(self) -> str:
        if not self.finished_now:
            return ""
        left = self.total - self.done
        if left <= 0:
            return ""
        per_stage = (self.clock() - self.began) / self.finished_now
        remaining = per_stage * left
        at = time.strftime("%H:%M", time.localtime(self.clock() + remaining))
        return f" ETA {at} ({_duration(remaining)} left)"

    def start(self, key: str, kind: str, cell: str) -> None:
        if key in self.started:
            return
        self.started[key] = self.clock()
        self.labels[key] = f"{key[:8]} {kind:<8} {cell}".rstrip()
        self._line(f"start   {self.done}/{self.total}  {self.labels[key]}")

    def update(self, key: str, info: Mapping[str, Any]) -> None:
        """Per-epoch progress stays out of the log: a line per stage event is what a log can carry."""

    def finish(self, key: str, ok: bool) -> None:
        began = self.started.pop(key, None)
        label = self.labels.pop(key, key[:8])
        took = f" ({_duration(self.clock() - began)})" if began is not None else ""
        if ok:
            self.done += 1
        self.finished_now += 1
        word = "done  " if ok else "FAILED"
        self._line(f"{word}  {self.done}/{self.total}  {label}{took}{self.eta()}")
