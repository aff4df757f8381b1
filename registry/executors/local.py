"""The local executor: a pool of worker subprocesses, one run per slot.

Each slot keeps one `python -m registry.worker --serve` process alive and hands it run directories
over a pipe, so torch is imported once per slot rather than once per stage (seconds per stage on a
small machine). A worker that dies mid-stage is replaced for the next job; its stage is judged by
what it left in the run directory, exactly as a one-shot worker would be.

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
from registry.atomic import read_json, write_json
from registry.errors import UserError
from registry.executors import EXECUTORS, Job

HELD = 75  # registry.worker.HELD (not imported: keep this module light)
DONE_ELSEWHERE = 76  # registry.worker.DONE_ELSEWHERE
# A worker killed by a signal (the OOM killer, a preemption, a stray `kill`) was interrupted, not
# refuted: its stage resumes from its checkpoints this many times before it counts as failed.
SIGNAL_RETRIES = int(os.environ.get("TICKETS_SIGNAL_RETRIES", "2"))


def killed_by(code: int | None) -> str | None:
    """The signal's name when a worker's exit status says a signal ended it, else None."""
    import signal

    if code is None or code >= 0:
        return None
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


class _Server:
    """One persistent worker process; `submit` a run directory, then poll `answer` for its status."""

    def __init__(self, env: Mapping[str, str]):
        self.proc = subprocess.Popen([sys.executable, "-m", "registry.worker", "--serve"], env=dict(env),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        os.set_blocking(self.proc.stdout.fileno(), False)
        self._buffer = b""

    def submit(self, rundir: Path) -> None:
        self.proc.stdin.write(f"{rundir}\n".encode())
        self.proc.stdin.flush()

    def answer(self) -> int | None:
        """The finished stage's exit status, the process's own if it died, or None while running."""
        chunk = self.proc.stdout.read()
        if chunk:
            self._buffer += chunk
        if b"\n" in self._buffer:
            line, self._buffer = self._buffer.split(b"\n", 1)
            return int(line)
        return self.proc.poll()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self, timeout: float = 10) -> None:
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=timeout)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()

    def terminate(self) -> None:
        self.proc.terminate()


@dataclass
class _Running:
    job: Job
    proc: _Server
    slot: int
    progress_mtime: float = 0.0


@dataclass
class LocalExecutor:
    workers: int = 1
    gpus: Sequence[str] | None = None
    threads: int | None = None
    runs_per_gpu: int = 1
    share: str = "processes"
    gpus_per_run: int = 1  # > 1: each run trains as that many ranks (DDP) on a group of GPUs
    ranks_per_run: int = 1  # CPU runs as that many gloo ranks (registry/ranks.py)
    poll: float = 0.1
    name: str = "local"
    detached: bool = False
    slots: list[dict[str, str]] = field(init=False)

    def __post_init__(self) -> None:
        if self.gpus:  # K slots per GPU, or one packing worker per GPU (registry/executors/gpu_slots.py)
            from registry.executors.gpu_slots import gpu_slots

            self.slots = gpu_slots(self.gpus, self.runs_per_gpu, self.share, gpus_per_run=self.gpus_per_run)
        else:
            workers = max(1, int(self.workers))
            # Every CPU stage runs with the same thread count whatever the number of workers: the
            # count changes how float sums are split, so a key's metrics would depend on how many
            # runs shared the machine (docs/ARCHITECTURE.md, "Threads"). Use the cores with more
            # workers; `-X threads=N` or the user's OMP_NUM_THREADS choose another fixed count.
            threads = str(self.threads or os.environ.get("OMP_NUM_THREADS") or 1)
            self.slots = [{"CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": threads} for _ in range(workers)]
            if self.ranks_per_run > 1:
                from registry.ranks import ENV_RANKS

                for slot in self.slots:
                    slot[ENV_RANKS] = str(self.ranks_per_run)

    def _start(self, job: Job, slot: int, servers: dict[int, _Server]) -> _Server:
        server = servers.get(slot)
        if server is None or not server.alive():
            server = servers[slot] = _Server({**os.environ, **self.slots[slot]})
        server.submit(job.rundir)
        return server

    @staticmethod
    def _interrupted(job: Job, code: int | None, interruptions: dict[str, int]) -> bool:
        """Count a death by signal that left no verdict (no error.json) as an interruption, while
        this stage has retries left. A Python exception writes error.json and stays a failure."""
        if killed_by(code) is None or (job.rundir / "error.json").exists():
            return False
        interruptions[job.key] = interruptions.get(job.key, 0) + 1
        return interruptions[job.key] <= SIGNAL_RETRIES

    @classmethod
    def _record_failure(cls, job: Job, code: int | None) -> str:
        """The stage's failure reason; a worker that died without writing one (a segfault, the OOM
        killer) gets an error.json here so the store records the failure like any other."""
        reason = cls._reason(job, code)
        if not (job.rundir / "error.json").exists():
            write_json(job.rundir / "error.json", {"reason": reason, "traceback": ""})
        return reason

    @staticmethod
    def _reason(job: Job, code: int | None) -> str:
        try:
            return str(read_json(job.rundir / "error.json").get("reason"))
        except Exception:
            signal_name = killed_by(code)
            if signal_name:
                return (f"worker killed by {signal_name} {SIGNAL_RETRIES + 1} times (resumed from its "
                        f"checkpoints {SIGNAL_RETRIES} times; see {job.rundir / 'worker.log'})")
            return f"worker exited with status {code} without a result (see {job.rundir / 'worker.log'})"

    def launch(self, jobs: Sequence[Job], on_event: Callable[[str, Job, Mapping[str, Any]], None]) -> None:
        pending = list(jobs)
        state: dict[str, str] = {}  # key -> done | failed
        running: list[_Running] = []
        watched: list[Job] = []  # leased by someone else
        free = list(range(len(self.slots)))
        servers: dict[int, _Server] = {}
        interruptions: dict[str, int] = {}  # key -> times its worker was killed by a signal
        try:
            while pending or running or watched:
                progressed = False
                for run in list(running):
                    code = run.proc.answer()
                    if code is None:
                        self._progress(run, on_event)
                        continue
                    running.remove(run)
                    free.append(run.slot)
                    progressed = True
                    if (run.job.rundir / "result.json").exists():
                        state[run.job.key] = "done"
                        # finished by another scheduler between our look and the worker's: not ours
                        on_event("done", run.job, {"elsewhere": True} if code == DONE_ELSEWHERE else {})
                    elif code == HELD:
                        watched.append(run.job)
                        on_event("waiting", run.job, {"holder": leases.read_lease(run.job.rundir)})
                    elif self._interrupted(run.job, code, interruptions):
                        pending.insert(0, run.job)  # resumes from its checkpoints in a fresh worker
                        on_event("interrupted", run.job, {"signal": killed_by(code),
                                                          "attempt": interruptions[run.job.key],
                                                          "retries": SIGNAL_RETRIES})
                    else:
                        state[run.job.key] = "failed"
                        on_event("failed", run.job, {"reason": self._record_failure(run.job, code)})
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
                    running.append(_Running(job, self._start(job, slot, servers), slot))
                    on_event("start", job, {"slot": slot, **self.slots[slot]})
                if not progressed:
                    time.sleep(self.poll)
        except BaseException:
            for server in servers.values():
                server.terminate()
            for server in servers.values():
                server.close()
            raise
        for server in servers.values():
            server.close()

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
def local_executor(workers: int = 1, gpus: Sequence[str] | None = None, threads: Any = None,
                   runs_per_gpu: int = 1, share: str = "processes", gpus_per_run: Any = 1,
                   ranks_per_run: Any = 1, **unknown: Any) -> LocalExecutor:
    if unknown:
        name = sorted(unknown)[0]
        raise UserError(f"unknown option {name!r} for the local executor; it takes --workers, --gpus, "
                        f"--runs-per-gpu, --gpus-per-run, --ranks-per-run, --share and -X threads=N only")
    from registry.ranks import positive

    gpus_per_run, ranks_per_run = positive("gpus_per_run", gpus_per_run), positive("ranks_per_run", ranks_per_run)
    if threads is not None:
        try:
            threads = int(threads)
            if threads < 1:
                raise ValueError
        except (TypeError, ValueError):
            raise UserError(f"threads must be a positive integer, got {threads!r}") from None
    from registry.executors.gpu_slots import check_gpus, parse_gpus

    gpus = parse_gpus(gpus)
    if gpus and ranks_per_run > 1:
        raise UserError("--ranks-per-run is for CPU runs; with --gpus give --gpus-per-run (one rank per GPU)")
    if ranks_per_run > 1 and share == "packed":
        raise UserError("--share packed trains several runs in one process; it cannot be combined with "
                        "--ranks-per-run > 1 (one run across several processes)")
    if gpus_per_run > 1 and not gpus:
        raise UserError(f"--gpus-per-run {gpus_per_run} needs --gpus; on the CPU give --ranks-per-run")
    if gpus:  # before any planning: no CUDA or no such GPU is one line, and nothing starts
        check_gpus(gpus)
    return LocalExecutor(workers=workers, gpus=gpus, threads=threads, runs_per_gpu=int(runs_per_gpu),
                         share=str(share), gpus_per_run=gpus_per_run, ranks_per_run=ranks_per_run)
