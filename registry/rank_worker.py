"""The three roles of a worker in a multi-process run (registry.ranks says how they are placed).

- launcher (`launch_stage`, called by registry.worker while it holds the stage's lease): starts
  this machine's ranks through torch's elastic agent, then publishes rank 0's result, or turns the
  ranks' failure into the stage's verdict (interrupted: resumable; failed: error.json).
- rank (`python -m registry.worker --rank RUNDIR`): one process of the run; calls the domain's
  `run` exactly as a single worker would. Rank 0 writes the run directory; other ranks' writes
  there are skipped (registry.atomic), so files are never written twice or half by two writers.
- joiner (`python -m registry.worker --join RUNDIR`, SLURM tasks > 0): starts its share of the
  ranks and waits; it holds no lease and writes no verdict (task 0's launcher does)."""
from __future__ import annotations

import sys
import time
import traceback
from pathlib import Path
from typing import Any

from registry import ranks
from registry.atomic import read_json, refuse_writes_under, write_json

FAILED = 1


class RunInterrupted(Exception):
    """A rank was killed (or the launcher was told to stop): the stage resumes from its checkpoints."""

    def __init__(self, signum: int):
        super().__init__(f"a rank was stopped by signal {signum}")
        self.signum = int(signum)


class RankFailed(Exception):
    """A rank raised: the reason of the earliest rank error not caused by a lost peer."""


def launch_stage(rundir: Path, plan: ranks.RankPlan, meta: dict[str, Any]) -> dict[str, Any]:
    """Run the stage as `plan.world` processes; returns rank 0's result and adds rank 0's runtime
    (device, backend, code version...) and the world size to `meta`."""
    ranks.clear(rundir)
    meta["world_size"] = plan.world
    write_json(rundir / "meta.json", meta)  # ranks read the stage's fixed thread count from here
    outcome = ranks.launch(rundir, plan)
    if not outcome.ok:
        kind, detail = ranks.verdict(rundir, outcome)
        if kind == "interrupted":
            raise RunInterrupted(int(detail))
        raise RankFailed(str(detail))
    try:
        result = read_json(ranks.rank_file(rundir, "result", 0))
        runtime = read_json(ranks.rank_file(rundir, "runtime", 0))
    except (OSError, ValueError) as exc:
        raise RankFailed(f"rank 0 finished without its result ({exc})") from None
    meta.update(runtime)
    meta["world_size"] = plan.world
    return result


def run_rank(rundir: Path) -> int:
    """One rank's life: the domain's `run`, then rank 0's result (or this rank's error) as a file."""
    from registry import worker

    ranks.die_with_parent()
    rank, world = ranks.this_rank()
    if rank > 0:
        refuse_writes_under(rundir, rundir / ranks.RANKS_DIR)
    try:
        stage = read_json(rundir / "stage.json")
        from registry.domain import load_domain
        from registry.plugins import import_plugins

        import_plugins(stage.get("plugins") or ())
        domain = load_domain(stage["domain"])
        threads = worker.stage_threads(rundir)
        if threads is not None and hasattr(domain, "set_threads"):
            domain.set_threads(threads)

        def report(progress) -> None:
            write_json(rundir / "progress.json", {**progress, "time": time.time()})

        dep_dirs = {role: Path(p) for role, p in (stage.get("dep_dirs") or {}).items()}
        result = dict(domain.run(stage, rundir, dep_dirs, report))
        if rank == 0:
            worker._check_finite(result)
            from registry.provenance import run_provenance

            runtime = {**worker.runtime_meta(domain), "code_version": worker._code_version(domain),
                       **run_provenance(domain, stage)}  # git, environment, torch build, data
            write_json(ranks.rank_file(rundir, "runtime", 0), runtime)
            write_json(ranks.rank_file(rundir, "result", 0), result)
        return 0
    except BaseException as exc:  # SystemExit/KeyboardInterrupt too: this rank is done either way
        reason = str(exc) if isinstance(exc, worker.NanLoss) else f"{type(exc).__name__}: {exc}"
        traceback.print_exc()
        try:
            ranks.record_error(rundir, rank, reason, traceback.format_exc())
        except OSError:
            pass
        return FAILED
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


def join(rundir: Path) -> int:
    """A SLURM task > 0: start this task's ranks of the run task 0 leads; 0 when they finished."""
    if (rundir / "result.json").exists():
        return 0
    plan = ranks.plan_here()
    outcome = ranks.launch(rundir, plan)
    return 0 if outcome.ok else FAILED

