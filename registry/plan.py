"""Study -> cells -> stages (deduped by key) -> a status per stage.

A stage is *done* when the store has it (or its run directory holds a result.json not yet
ingested: planning ingests it), *running* under a live lease or a detached job its executor
still reports alive, *failed* when its run directory holds error.json, and *missing* otherwise.
Store membership is one semi-join of the candidate keys (a registered frame) against `runs`, so
planning stays well under a second for 10,000 cells against 100,000 stored runs."""
from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from registry import lease
from registry.domain import Domain, Stage, load_domain
from registry.errors import UserError
from registry.grid import Study, describe_cell
from registry.store import Store

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

    def first_cell(self, key: str) -> dict[str, Any] | None:
        for cell, keys in zip(self.cells, self.cell_keys):
            if key in keys:
                return cell
        return None


def domain_path_for(study: Study) -> str:
    """The domain to expand cells with: env TICKETS_DOMAIN overrides the study's own."""
    return os.environ.get("TICKETS_DOMAIN") or study.domain


def expand(study: Study, domain: Domain | None = None, domain_path: str | None = None):
    """(cells, stages by key in dependency order, per-cell keys)."""
    domain = domain or load_domain(domain_path or domain_path_for(study))
    cells = study.cells()
    stages: dict[str, Stage] = {}
    cell_keys: list[list[str]] = []
    for cell in cells:
        try:
            cell_stages = domain.expand(cell)
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


def _executor_alive(submitted: Path) -> bool:
    from registry.atomic import read_json
    from registry.executors import EXECUTORS

    load_executors()
    try:
        record = read_json(submitted)
        return bool(EXECUTORS.get(record["executor"])().alive(record))
    except Exception:  # an unreadable record or unknown executor cannot vouch for a job
        return False


def disk_status(rundir: Path) -> str:
    """Status of one stage from its run directory alone."""
    if (rundir / "result.json").exists():
        return "done"
    if lease.holder(rundir) is not None:
        return "running"
    if (rundir / "submitted.json").exists() and _executor_alive(rundir / "submitted.json"):
        return "running"
    if (rundir / "error.json").exists():
        return "failed"
    return "missing"


def make_plan(study: Study, store: Store, *, domain: Domain | None = None, ingest: bool = True) -> Plan:
    from registry.atomic import read_json
    from registry.ingest import ingest as ingest_dirs

    domain_path = domain_path_for(study)
    cells, stages, cell_keys = expand(study, domain, domain_path)
    stored = store.statuses(list(stages))
    existing = set(os.listdir(store.runs_dir)) if store.runs_dir.exists() else set()
    status: dict[str, str] = {}
    reasons: dict[str, str] = {}
    to_ingest: list[Path] = []
    for key in stages:
        if stored.get(key) in ("done", "imported"):
            status[key] = "done"
            continue
        if key not in existing:
            status[key] = "missing"
            continue
        rundir = store.rundir(key)
        state = disk_status(rundir)
        status[key] = state
        if state == "done" or (state == "failed" and stored.get(key) != "failed"):
            to_ingest.append(rundir)
        if state == "failed":
            try:
                reasons[key] = str(read_json(rundir / "error.json").get("reason"))
            except Exception:
                reasons[key] = "unreadable error.json"
    plan = Plan(study, domain_path, cells, stages, cell_keys, status, reasons)
    if ingest and to_ingest:
        plan.ingested, plan.problems = ingest_dirs(store, to_ingest)
        for problem in plan.problems:  # a corrupt result is not a result: run it again
            for rundir in to_ingest:
                if str(rundir) in problem and status.get(rundir.name) == "done":
                    status[rundir.name] = "failed"
                    reasons[rundir.name] = problem
    return plan
