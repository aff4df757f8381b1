"""Executors take run directories that hold a `stage.json` and get `python -m registry.worker RUNDIR`
run on each, somewhere. The scheduler decides what to run and in what order; executors only run.

Two shapes: a blocking executor (local worker pool) runs its jobs to completion and reports events;
a detached executor (SLURM) submits, writes `submitted.json` {"executor", "job_id", "time", ...} into
each run directory, and returns at once. For a run directory with `submitted.json` and no result yet,
the scheduler asks the executor named there whether the job is still queued or running (`alive`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Protocol, Sequence

from registry.naming import Registry


@dataclass(frozen=True)
class Job:
    key: str
    rundir: Path
    after: tuple[str, ...] = ()  # keys of jobs in this same batch that must finish first


class Executor(Protocol):
    name: str
    detached: bool  # True: submit and return (SLURM); False: run to completion (local)

    def launch(self, jobs: Sequence[Job], on_event: Callable[[str, Job, Mapping[str, Any]], None]) -> None:
        """Run or submit `jobs` (already in dependency order). Events: "start", "progress",
        "done", "failed", "submitted"."""

    def alive(self, submitted: Mapping[str, Any]) -> bool:
        """Is the job recorded in a `submitted.json` still queued or running?"""

    def cancel(self, submitted: Sequence[Mapping[str, Any]]) -> int:
        """Cancel the recorded jobs; return how many were cancelled."""


# name -> factory(**options) -> Executor
EXECUTORS: Registry[Callable[..., Executor]] = Registry("executor")
