"""Checkpoints inside an epoch, for epochs that take hours (ImageNet), resumed exactly.

`TrainConfig.checkpoint_steps = N` writes one every N optimiser steps, `checkpoint_minutes = M`
one every M minutes (both 0 by default: epoch checkpoints only; file-backed datasets then default
to every `STREAMING_MINUTES` minutes, since one of their epochs is long). Neither changes a result.

The file is `rundir/<phase>/mid.pt` (one, replaced atomically; removed when the epoch's own
checkpoint is written). It holds everything an epoch checkpoint holds, with `epoch` = the last
COMPLETE epoch and the run generator in the state it had at the START of the unfinished epoch, plus
`mid`: the epoch, the number of steps done and the epoch's running loss/accuracy sums. Resuming
restores that state and asks the loader for batches from `start = steps done`: the loader redraws
the epoch's permutation (and replays the cheap augmentation draws of the skipped batches), so the
rest of the epoch, and everything after it, is bitwise what an uninterrupted run computes."""
from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any, Mapping

import torch

from . import checkpoint as ckpt

MID_NAME = "mid.pt"
STREAMING_MINUTES = 20.0


def mid_path(rundir: str | Path, phase: str) -> Path:
    return ckpt.phase_dir(rundir, phase) / MID_NAME


class MidEpoch:
    """When to write a mid-epoch checkpoint, and the one to resume from."""

    def __init__(self, config: Any, streaming: bool, rundir: Path | None, phase: str):
        self.steps = int(getattr(config, "checkpoint_steps", 0) or 0)
        self.minutes = float(getattr(config, "checkpoint_minutes", 0.0) or 0.0)
        if streaming and not self.steps and not self.minutes:
            self.minutes = STREAMING_MINUTES
        self.rundir, self.phase = rundir, phase
        self.enabled = rundir is not None and (self.steps > 0 or self.minutes > 0)
        self.last = time.monotonic()
        self.resume: Mapping[str, Any] | None = None  # the "mid" part of the state resumed from

    def due(self, step: int, steps: int) -> bool:
        """After optimiser step `step` of `steps` (the epoch's end has its own checkpoint)."""
        if not self.enabled or step >= steps:
            return False
        if self.steps and step % self.steps == 0:
            return True
        return bool(self.minutes) and time.monotonic() - self.last >= 60.0 * self.minutes

    def save(self, state: dict[str, Any]) -> None:
        ckpt.save(mid_path(self.rundir, self.phase), state)
        self.last = time.monotonic()

    def clear(self) -> None:
        if self.rundir is not None:
            mid_path(self.rundir, self.phase).unlink(missing_ok=True)

    def newer_than(self, state: Mapping[str, Any] | None) -> dict[str, Any] | None:
        """The mid-epoch state if it continues from `state` (the newest epoch checkpoint, or None
        for a fresh phase), else None. An unreadable or stale file is ignored with a warning."""
        if self.rundir is None:
            return None
        path = mid_path(self.rundir, self.phase)
        if not path.exists():
            return None
        try:
            mid = torch.load(path, map_location="cpu", weights_only=True)
            done = int(mid["epoch"])
            info = mid["mid"]
            if int(info["epoch"]) != done + 1:
                raise ValueError(f"holds epoch {info['epoch']} after epoch {done}")
        except Exception as exc:
            warnings.warn(f"mid-epoch checkpoint {path} is unreadable ({type(exc).__name__}: {exc}); "
                          f"resuming from the last epoch checkpoint", RuntimeWarning, stacklevel=3)
            path.replace(path.with_name(path.name + ".corrupt"))
            return None
        if done < (int(state["epoch"]) if state is not None else 0):
            return None  # older than the epoch checkpoint (killed between the two writes)
        self.resume = info
        return mid

    def take(self, epoch: int) -> Mapping[str, Any] | None:
        """The resumed mid-epoch part for `epoch` (once), else None."""
        info, self.resume = self.resume, None
        return info if info is not None and int(info["epoch"]) == epoch else None
