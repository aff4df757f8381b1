"""`python -m registry.worker RUNDIR`: run the one stage described by RUNDIR/stage.json.
`python -m registry.worker --serve`: run stages whose run directories arrive on stdin, one per line,
answering each with its exit status on stdout; the local pool keeps one such process per slot so
torch is imported once per slot, not once per stage.

Takes the stage's lease (exits quietly with HELD when someone else holds a live one), loads the
domain by import path, calls its `run`, and publishes result.json atomically, or error.json with
the reason and traceback. A NaN loss is a failure with that reason. A background thread refreshes
the lease's heartbeat; the domain's `report` callback also writes progress.json."""
from __future__ import annotations

import math
import os
import socket
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Mapping

from registry import lease as leases
from registry.atomic import read_json, write_json

HELD = 75  # exit status: another process holds the lease (EX_TEMPFAIL)
# answer of the --serve protocol: the stage was already finished (by another scheduler) when this
# worker looked, so it ran nothing; the one-shot command exits 0 for it, as for any stage with a result
DONE_ELSEWHERE = 76
FAILED = 1
LOSS_FIELDS = ("train_loss", "test_loss", "test_acc", "best_test_acc")


class NanLoss(RuntimeError):
    pass


def _check_finite(result: Mapping[str, Any]) -> None:
    for name in LOSS_FIELDS:
        value = result.get(name)
        if isinstance(value, float) and not math.isfinite(value):
            raise NanLoss(f"NaN loss: {name} is {value}")


class _Heartbeat(threading.Thread):
    def __init__(self, lease: leases.Lease):
        super().__init__(daemon=True)
        self.lease = lease
        self.stop = threading.Event()
        self.interval = max(0.2, leases.lease_timeout() / 4)

    def run(self) -> None:
        failures = 0
        while not self.stop.wait(self.interval):
            try:
                ours = leases.heartbeat(self.lease)
                failures = 0
            except OSError as exc:  # e.g. a shared filesystem hiccup: keep beating, it may pass
                failures += 1
                sys.stderr.write(f"heartbeat on {self.lease.rundir} failed ({exc})\n")
                # Missing beats for the whole lease timeout lets another scheduler reclaim the
                # stage; stop before that so the stage never runs twice.
                ours = failures * self.interval < leases.lease_timeout() * 0.75
            if not ours:
                # The lease was reclaimed by someone who judged us dead, or may soon be: stop
                # before we collide.
                sys.stderr.write(f"lease on {self.lease.rundir} lost; stopping\n")
                os._exit(HELD)


def _code_version(domain: Any) -> str | None:
    """Package version, git commit (from a checkout) and torch version (registry.provenance)."""
    try:
        from registry.provenance import code_version

        module = sys.modules.get(type(domain).__module__)
        declared = getattr(domain, "version", None)
        return code_version(type(domain).__module__.split(".")[0], getattr(module, "__file__", None),
                            str(declared) if declared else None)
    except Exception:  # provenance must never fail a run
        return None


def stage_threads(rundir: Path) -> int | None:
    """CPU threads for this attempt: the ones an earlier attempt of the stage recorded in meta.json
    (a resume never mixes thread counts, which change float reductions and so the metrics), else
    this worker's OMP_NUM_THREADS (the executor's fixed per-stage count), else None (the domain's)."""
    mine = os.environ.get("OMP_NUM_THREADS")
    mine_n = int(mine) if mine and mine.strip().isdigit() and int(mine) > 0 else None
    try:
        earlier = read_json(rundir / "meta.json").get("threads")
    except (OSError, ValueError, AttributeError):
        earlier = None
    if isinstance(earlier, int) and not isinstance(earlier, bool) and earlier > 0:
        if mine_n is not None and earlier != mine_n:
            sys.stderr.write(f"resuming under the {earlier} threads this stage started with "
                             f"(this worker has {mine_n})\n")
        return earlier
    return mine_n


def runtime_meta(domain: Any) -> dict[str, Any]:
    """What this process computed on, from the domain's optional `runtime_info()` (for tickets:
    device, gpu_model, torch_version, cuda_version, threads); recorded in meta.json and the store."""
    info = getattr(domain, "runtime_info", None)
    if info is None:
        return {}
    try:
        return dict(info())
    except Exception as exc:  # never lose a finished result over its metadata
        return {"runtime_error": f"{type(exc).__name__}: {exc}"}


def run_stage(rundir: Path) -> int:
    if (rundir / "pack.json").exists():  # several stages trained together (registry/packing.py)
        from registry.pack_worker import run_pack

        return run_pack(rundir)
    stage = read_json(rundir / "stage.json")
    if (rundir / "result.json").exists():
        return DONE_ELSEWHERE
    if (rundir / "error.json").exists():  # failed already; only --retry-failed clears it
        return FAILED
    lease = leases.acquire(rundir)
    if lease is None:
        return HELD
    beat = _Heartbeat(lease)
    try:
        if (rundir / "result.json").exists():  # finished between our check and the lease
            return DONE_ELSEWHERE
        if (rundir / "error.json").exists():
            return FAILED
        from registry.sweep import sweep_dir

        sweep_dir(rundir)  # temporaries of earlier attempts killed mid-write (we hold the lease now)
        beat.start()
        threads = stage_threads(rundir)
        meta = {"host": socket.gethostname(), "pid": os.getpid(), "started": time.time()}
        if threads is not None:
            meta["threads"] = threads
        write_json(rundir / "meta.json", meta)
        sink = None
        try:
            from registry.ranks import plan_here
            from registry.track.sink import sink_for

            plan = plan_here()
            if plan.multi:  # several processes (registry/ranks.py): we launch them and hold the lease
                from registry.rank_worker import launch_stage

                sink = sink_for(stage, rundir, meta)  # rank 0's epochs reach it through metrics.jsonl
                result = launch_stage(rundir, plan, meta)
            else:
                from registry.domain import load_domain
                from registry.plugins import import_plugins
                from registry.provenance import run_provenance

                import_plugins(stage.get("plugins") or ())  # the study's own models, methods...: before the domain
                domain = load_domain(stage["domain"])
                meta["code_version"] = _code_version(domain)
                if threads is not None and hasattr(domain, "set_threads"):
                    domain.set_threads(threads)

                sink = sink_for(stage, rundir, meta)  # trackers (TICKETS_TRACK): a background thread, never raises

                def report(progress: Mapping[str, Any]) -> None:
                    write_json(rundir / "progress.json", {**progress, "time": time.time()})
                    sink.event(progress)

                dep_dirs = {role: Path(p) for role, p in (stage.get("dep_dirs") or {}).items()}
                try:
                    result = dict(domain.run(stage, rundir, dep_dirs, report))
                finally:
                    meta.update(runtime_meta(domain))
                    meta.update(run_provenance(domain, stage))  # git, environment, torch build, data
            _check_finite(result)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:
            if type(exc).__name__ == "RunInterrupted":  # a rank was killed: resumable, like a killed worker
                return -exc.signum
            meta["finished"] = time.time()
            write_json(rundir / "meta.json", meta)
            reason = str(exc) if isinstance(exc, NanLoss) else f"{type(exc).__name__}: {exc}"
            write_json(rundir / "error.json", {"reason": reason, "traceback": traceback.format_exc()})
            if sink is not None:
                sink.finish(None, failed=reason)
            return FAILED
        meta["finished"] = time.time()
        write_json(rundir / "meta.json", meta)
        write_json(rundir / "result.json", result)
        sink.finish(result)
        return 0
    finally:
        beat.stop.set()
        leases.release(lease)


def serve() -> int:
    """Answer run directories read from stdin with exit statuses; each stage logs to its worker.log."""
    answers = os.fdopen(os.dup(1), "w", buffering=1)  # the protocol channel; fd 1/2 go to the logs
    for line in sys.stdin:
        rundir = Path(line.strip()).resolve()
        if not line.strip():
            continue
        with open(rundir / "worker.log", "ab", buffering=0) as log:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
            try:
                code = run_stage(rundir)
            except Exception:  # e.g. an unreadable stage.json: this stage fails, the server goes on
                traceback.print_exc()
                code = FAILED
            sys.stdout.flush()
            sys.stderr.flush()
        answers.write(f"{code}\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--serve"]:
        try:
            return serve()
        except KeyboardInterrupt:
            return 130
    if len(argv) == 2 and argv[0] in ("--rank", "--join"):  # one process of a multi-rank run
        from registry import rank_worker

        role = rank_worker.run_rank if argv[0] == "--rank" else rank_worker.join
        return role(Path(argv[1]).resolve())
    if len(argv) != 1:
        sys.stderr.write("usage: python -m registry.worker RUNDIR | --serve | --rank RUNDIR | --join RUNDIR\n")
        return 2
    try:
        code = run_stage(Path(argv[0]).resolve())
    except KeyboardInterrupt:
        return 130
    if code == DONE_ELSEWHERE:
        return 0
    if code < 0:  # a rank died by a signal: end the same way, so our parent judges it as it would us
        import signal

        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    return code


if __name__ == "__main__":
    sys.exit(main())
