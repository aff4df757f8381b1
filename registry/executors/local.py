"""The local executor: a pool of worker subprocesses, one run per slot.

Slots are CPU workers (`workers=N`, CUDA hidden) or one per GPU (`gpus=["0", "1"]`, each with its
own CUDA_VISIBLE_DEVICES). A job starts when every job it comes `after` is done; a job whose
dependency failed is reported failed ("blocked") without running. A worker that finds the stage
leased by someone else exits at once; the job is then watched (result.json / error.json / the
lease going stale) without holding a slot, and its dependents follow when it lands."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from registry import lease as leases
from registry.atomic import read_json
from registry.executors import EXECUTORS, Job

HELD = 75  # registry.worker.HELD (not imported: keep this module light)


@dataclass
class _Running:
    job: Job
    proc: subprocess.Popen
    slot: int
    progress_mtime: float = 0.0


@dataclass
class LocalExecutor:
    workers: int = 1
    gpus: Sequence[str] | None = None
    poll: float = 0.1
    name: str = "local"
    detached: bool = False
    slots: list[dict[str, str]] = field(init=False)

    def __post_init__(self) -> None:
        if self.gpus:
            self.slots = [{"CUDA_VISIBLE_DEVICES": str(g)} for g in self.gpus]
        else:
            self.slots = [{"CUDA_VISIBLE_DEVICES": ""} for _ in range(max(1, int(self.workers)))]

    def _start(self, job: Job, slot: int) -> subprocess.Popen:
        env = {**os.environ, **self.slots[slot]}
        log = open(job.rundir / "worker.log", "ab")
        try:
            return subprocess.Popen([sys.executable, "-m", "registry.worker", str(job.rundir)],
                                    env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        finally:
            log.close()

    @staticmethod
    def _reason(job: Job, code: int | None) -> str:
        try:
            return str(read_json(job.rundir / "error.json").get("reason"))
        except Exception:
            return f"worker exited with status {code} without a result (see {job.rundir / 'worker.log'})"

    def launch(self, jobs: Sequence[Job], on_event: Callable[[str, Job, Mapping[str, Any]], None]) -> None:
        pending = list(jobs)
        state: dict[str, str] = {}  # key -> done | failed
        running: list[_Running] = []
        watched: list[Job] = []  # leased by someone else
        free = list(range(len(self.slots)))
        try:
            while pending or running or watched:
                progressed = False
                for run in list(running):
                    code = run.proc.poll()
                    if code is None:
                        self._progress(run, on_event)
                        continue
                    running.remove(run)
                    free.append(run.slot)
                    progressed = True
                    if (run.job.rundir / "result.json").exists():
                        state[run.job.key] = "done"
                        on_event("done", run.job, {})
                    elif code == HELD:
                        watched.append(run.job)
                        on_event("waiting", run.job, {"holder": leases.read_lease(run.job.rundir)})
                    else:
                        state[run.job.key] = "failed"
                        on_event("failed", run.job, {"reason": self._reason(run.job, code)})
                for job in list(watched):
                    if (job.rundir / "result.json").exists():
                        watched.remove(job)
                        state[job.key] = "done"
                        on_event("done", job, {})
                    elif (job.rundir / "error.json").exists() and leases.holder(job.rundir) is None:
                        watched.remove(job)
                        state[job.key] = "failed"
                        on_event("failed", job, {"reason": self._reason(job, None)})
                    elif leases.holder(job.rundir) is None:  # holder died: run it ourselves
                        watched.remove(job)
                        pending.insert(0, job)
                    else:
                        continue
                    progressed = True
                for job in list(pending):
                    bad = [k for k in job.after if state.get(k) == "failed"]
                    if bad:
                        pending.remove(job)
                        state[job.key] = "failed"
                        on_event("failed", job, {"reason": f"blocked: dependency {bad[0]} failed", "blocked": True})
                        progressed = True
                        continue
                    if not free or any(state.get(k) != "done" for k in job.after):
                        continue
                    pending.remove(job)
                    progressed = True
                    if (job.rundir / "result.json").exists():  # finished by someone else meanwhile
                        state[job.key] = "done"
                        on_event("done", job, {})
                        continue
                    holder = leases.holder(job.rundir)
                    if holder is not None:  # leased elsewhere: watch it without spending a worker
                        watched.append(job)
                        on_event("waiting", job, {"holder": holder})
                        continue
                    slot = free.pop(0)
                    running.append(_Running(job, self._start(job, slot), slot))
                    on_event("start", job, {"slot": slot, **self.slots[slot]})
                if not progressed:
                    time.sleep(self.poll)
        except BaseException:
            for run in running:
                run.proc.terminate()
            for run in running:
                try:
                    run.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    run.proc.kill()
            raise

    def _progress(self, run: _Running, on_event: Callable[[str, Job, Mapping[str, Any]], None]) -> None:
        path = run.job.rundir / "progress.json"
        try:
            mtime = path.stat().st_mtime
        except FileNotFoundError:
            return
        if mtime == run.progress_mtime:
            return
        run.progress_mtime = mtime
        try:
            on_event("progress", run.job, read_json(path))
        except ValueError:
            pass

    def alive(self, submitted: Mapping[str, Any]) -> bool:
        return False  # local jobs never outlive their scheduler's watch; leases cover orphans

    def cancel(self, submitted: Sequence[Mapping[str, Any]]) -> int:
        return 0


@EXECUTORS.register("local")
def local_executor(workers: int = 1, gpus: Sequence[str] | None = None, **_: Any) -> LocalExecutor:
    return LocalExecutor(workers=workers, gpus=list(gpus) if gpus else None)
