"""Study -> cells -> stages (deduped by key) -> a status per stage.

A stage is *done* when the store has it imported, or has it from a run directory that still holds
the result.json ingested (checked by one stat), or its run directory holds a result.json not yet
ingested (planning ingests it; a corrupt one makes the stage failed), *running* under a live lease or a detached job its executor
still reports alive, *failed* when its run directory holds error.json, and *missing* otherwise.
Store membership is one semi-join of the candidate keys (a registered frame) against `runs`, so
planning stays well under a second for 10,000 cells against 100,000 stored runs."""
from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from registry import lease
from registry.domain import Domain, Stage, load_domain
from registry.errors import UserError
from registry.grid import Study, describe_cell
from registry.store import Store
from registry.storebusy import StoreBusy, not_stored

STATUSES = ("done", "running", "failed", "missing")


@dataclass
class Plan:
    study: Study
    domain_path: str
    cells: list[dict[str, Any]]
    stages: dict[str, Stage]  # key -> stage, in dependency order
    cell_keys: list[list[str]]  # per cell, its stage keys (last carries the result)
    status: dict[str, str]
    reasons: dict[str, str] = field(default_factory=dict)  # key -> failure reason
    ingested: int = 0
    problems: list[str] = field(default_factory=list)  # runs that could not be ingested
    _first_cell: dict[str, dict[str, Any]] | None = field(default=None, repr=False)
    ended: dict[str, str] = field(default_factory=dict)  # key -> how its submitted job ended (it runs again)
    busy: str | None = None  # one line when finished runs could not be stored (another process held the store)
    plugins: tuple[str, ...] = ()  # imported here and recorded in every stage.json for the workers

    @property
    def unshared_runs(self) -> int:
        """How many stages would run if nothing were shared between cells."""
        return sum(len(keys) for keys in self.cell_keys)

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(STATUSES, 0)
        for status in self.status.values():
            out[status] += 1
        return out

    def cell_status(self, index: int) -> str:
        states = [self.status[k] for k in self.cell_keys[index]]
        for status in ("failed", "running", "missing"):
            if status in states:
                return status
        return "done"

    def cell_counts(self) -> dict[str, int]:
        out = dict.fromkeys(STATUSES, 0)
        for i in range(len(self.cells)):
            out[self.cell_status(i)] += 1
        return out

    def readiness(self, keys: Sequence[str], fetch: bool = False) -> list[str]:
        """What would make these stages fail on this machine, from the domain's optional
        `check_ready` (e.g. data not here); with `fetch` the domain may fetch what it can."""
        check_ready = getattr(load_domain(self.domain_path), "check_ready", None)
        return check_ready([self.stages[k] for k in keys], fetch=fetch) if check_ready and keys else []

    def first_cell(self, key: str) -> dict[str, Any] | None:
        """The first cell that needs stage `key` (a dict built once: called on every event)."""
        if self._first_cell is None:
            self._first_cell = {}
            for cell, keys in zip(self.cells, self.cell_keys):
                for k in keys:
                    self._first_cell.setdefault(k, cell)
        return self._first_cell.get(key)


def domain_path_for(study: Study) -> str:
    """The domain to expand cells with: env TICKETS_DOMAIN overrides the study's own."""
    return os.environ.get("TICKETS_DOMAIN") or study.domain


def plugins_for(study: Study) -> tuple[str, ...]:
    """The study's plugins plus those of env TICKETS_PLUGINS (or `tickets --plugin`)."""
    from registry import plugins

    return plugins.merge(plugins.resolve(getattr(study, "plugins", ()) or ()), plugins.from_env())


def expand(study: Study, domain: Domain | None = None, domain_path: str | None = None):
    """(cells, stages by key in dependency order, per-cell keys)."""
    from registry.naming import UnknownName
    from registry.plugins import import_plugins

    import_plugins(plugins_for(study))  # before the domain: its registries must see the plugins' names
    domain = domain or load_domain(domain_path or domain_path_for(study))
    cells = study.cells()
    stages: dict[str, Stage] = {}
    cell_keys: list[list[str]] = []
    for cell in cells:
        try:
            cell_stages = domain.expand(cell)
        except UnknownName as exc:
            raise UserError(f"cell {describe_cell(cell)}: {exc} (a name defined in your own module? name the "
                            f"module in Study(..., plugins=[...]) or with --plugin)") from None
        except UserError as exc:
            raise UserError(f"cell {describe_cell(cell)}: {exc}") from None
        keys = []
        for stage in cell_stages:
            key = stage.key
            if key not in stages:
                stages[key] = stage
            keys.append(key)
        cell_keys.append(keys)
    return cells, stages, cell_keys


EXECUTOR_MODULES = ("registry.executors.local", "registry.executors.slurm")


def load_executors() -> None:
    """Import the executor modules so their names are registered."""
    for name in EXECUTOR_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            pass


def alive_submissions(rundirs: Sequence[Path]) -> set[Path]:
    """The run directories whose submitted job its executor still lists as queued or running:
    one query per executor (`alive_many`, e.g. a single squeue) rather than one per stage. An
    unreadable record or an unknown executor cannot vouch for a job."""
    from registry.atomic import read_json
    from registry.executors import EXECUTORS

    load_executors()
    by_executor: dict[str, list[tuple[Path, dict]]] = {}
    for rundir in rundirs:
        try:
            record = read_json(rundir / "submitted.json")
            by_executor.setdefault(record["executor"], []).append((rundir, record))
        except Exception:
            continue
    alive: set[Path] = set()
    for name, items in by_executor.items():
        if name not in EXECUTORS:
            continue
        try:
            executor = EXECUTORS.get(name)()
            if hasattr(executor, "alive_many"):
                states = executor.alive_many([record for _, record in items])
                alive |= {rundir for rundir, record in items if states.get(str(record["job_id"]), False)}
            else:
                alive |= {rundir for rundir, record in items if executor.alive(record)}
        except Exception:  # the executor could not be asked: count its jobs alive, never submit twice
            alive |= {rundir for rundir, _ in items}
    return alive


def ended_submissions(rundirs: Sequence[Path]) -> dict[str, str]:
    """{key: one line on how its job ended} for submitted stages whose job is gone without leaving a
    result or an error (e.g. it failed before the worker started): they run again, with a reason."""
    from registry.atomic import read_json
    from registry.executors import EXECUTORS

    notes: dict[str, str] = {}
    for rundir in rundirs:
        try:
            record = read_json(rundir / "submitted.json")
            executor = EXECUTORS.get(record["executor"])()
            describe = getattr(executor, "describe", None)
            notes[rundir.name] = describe(record) if describe else f"job {record.get('job_id')} ended"
        except Exception:
            continue
    return notes


def disk_status(rundir: Path, alive: set[Path] | None = None) -> str:
    """Status of one stage from its run directory alone (`alive`: precomputed live submissions)."""
    if (rundir / "result.json").exists():
        return "done"
    if lease.holder(rundir) is not None:
        return "running"
    if (rundir / "submitted.json").exists():
        if rundir in (alive_submissions([rundir]) if alive is None else alive):
            return "running"
    if (rundir / "error.json").exists():
        return "failed"
    return "missing"


def _unchanged(path: str, size: int | None, mtime_ns: int | None) -> bool:
    """result.json is still the file that was ingested (same size and modification time)."""
    if size is None or mtime_ns is None:
        return False
    try:
        seen = os.stat(path)
    except OSError:
        return False
    return seen.st_size == size and seen.st_mtime_ns == mtime_ns


def make_plan(study: Study, store: Store, *, domain: Domain | None = None, ingest: bool = True) -> Plan:
    from registry.atomic import read_json
    from registry.ingest import ingest as ingest_dirs

    domain_path = domain_path_for(study)
    cells, stages, cell_keys = expand(study, domain, domain_path)
    index = store.index(list(stages))
    stored = {k: row[0] for k, row in index.items()}
    memberships = {k: row[3] for k, row in index.items()}
    existing = set(os.listdir(store.runs_dir)) if store.runs_dir.exists() else set()
    status: dict[str, str] = {}
    reasons: dict[str, str] = {}
    to_ingest: list[Path] = []
    runs_dir = str(store.runs_dir)
    for key, (state, size, mtime_ns, _) in index.items():
        # Imported runs have no run directory. A local run is done while its run directory holds the
        # result.json that was ingested (one stat, no read); a deleted run directory is not done, and
        # a result.json changed since is read again (a corrupt one makes the stage failed).
        if state == "imported" or (state == "done" and key in existing
                                   and _unchanged(f"{runs_dir}/{key}/result.json", size, mtime_ns)):
            status[key] = "done"
    on_disk = [store.rundir(k) for k in stages if k in existing and k not in status]
    alive = alive_submissions([d for d in on_disk if (d / "submitted.json").exists()
                               and not (d / "result.json").exists()])
    for key in stages:
        if key in status:
            continue
        if key not in existing:
            status[key] = "missing"
            continue
        rundir = store.rundir(key)
        state = disk_status(rundir, alive)
        status[key] = state
        if state == "done" or (state == "failed" and stored.get(key) != "failed"):
            to_ingest.append(rundir)
        if state == "failed":
            try:
                reasons[key] = str(read_json(rundir / "error.json").get("reason"))
            except Exception:
                reasons[key] = "unreadable error.json"
    # A stage that stages still to run depend on must have its run directory here: the store may
    # list it done from an import or from a home whose run directories were pruned to save disk.
    # Such a dependency runs again rather than hand its dependents a folder that is not there.
    for key, stage in reversed(stages.items()):  # dependents first, so chains are followed down
        if status[key] in ("missing", "failed"):
            for dep in stage.deps.values():
                if status.get(dep) == "done" and not (store.rundir(dep) / "result.json").exists():
                    status[dep] = "missing"
    plan = Plan(study, domain_path, cells, stages, cell_keys, status, reasons, plugins=plugins_for(study))
    plan.ended = ended_submissions([store.rundir(k) for k in stages if status[k] == "missing"
                                    and k in existing and (store.rundir(k) / "submitted.json").exists()])
    if ingest and to_ingest:
        try:
            plan.ingested, plan.problems = ingest_dirs(store, to_ingest)
        except StoreBusy as exc:  # the run directories still say done; they are stored next time
            plan.busy = not_stored(len(to_ingest), exc)
        for problem in plan.problems:  # a corrupt result is not a result: run it again
            for rundir in to_ingest:
                if str(rundir) in problem and status.get(rundir.name) == "done":
                    status[rundir.name] = "failed"
                    reasons[rundir.name] = problem
    if ingest:  # remember which study asked for each run (not part of any key)
        from registry.membership import record

        try:
            record(store, study.name, list(stages), memberships, ingested={d.name for d in to_ingest})
        except (OSError, StoreBusy) as exc:  # e.g. someone else's read-only home: planning still answers
            import warnings

            warnings.warn(f"could not record study {study.name!r} on its runs in {store.home} ({exc})")
    return plan
