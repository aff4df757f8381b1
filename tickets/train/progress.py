"""Live progress without host syncs: step counts go to a throttled callback and, at most every
couple of seconds, to `rundir/progress.json` (the scheduler's heartbeat and progress source)."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from registry.atomic import write_json

StepCallback = Callable[[int, int, int], None]  # (epoch, step, steps); step counts 1..steps


class Progress:
    def __init__(self, rundir: Path | None, phase: str, epochs: int, on_step: StepCallback | None,
                 heartbeat_s: float = 2.0, callback_s: float = 0.1):
        self.path = Path(rundir) / "progress.json" if rundir is not None else None
        self.phase, self.epochs, self.on_step = phase, epochs, on_step
        self.heartbeat_s, self.callback_s = heartbeat_s, callback_s
        self._last_write = self._last_call = -float("inf")

    def step(self, epoch: int, step: int, steps: int) -> None:
        """Called every step; cheap unless a callback or a heartbeat is due."""
        now = time.monotonic()
        last = step == steps
        if self.on_step is not None and (last or now - self._last_call >= self.callback_s):
            self._last_call = now
            self.on_step(epoch, step, steps)
        if self.path is not None and now - self._last_write >= self.heartbeat_s:
            self.write(epoch, step, steps, now)

    def write(self, epoch: int, step: int, steps: int, now: float | None = None) -> None:
        if self.path is None:
            return
        self._last_write = time.monotonic() if now is None else now
        write_json(self.path, {"phase": self.phase, "epoch": epoch, "epochs": self.epochs,
                               "step": step, "steps": steps, "time": time.time()})
