"""Forget runs: remove their run directories and their store rows, so a bad run can run again.

The run directory goes first (renamed out of the way in one step, then deleted), the rows second:
a removal killed in between leaves a row without a directory, which planning already treats as not
done and the next `store ingest` forgets. A run under a live lease is refused."""
from __future__ import annotations

import json
import os
import shutil
from typing import Iterable, Sequence

from registry import lease
from registry.errors import UserError
from registry.store import Store

MIN_PREFIX = 4  # as `runs show`: shorter prefixes match too much by accident
REMOVING = ".removing-"


def known_keys(store: Store) -> set[str]:
    """Keys in the store and run directories on disk (a failed run may not be ingested yet)."""
    keys = set(store.frame("SELECT key FROM runs")["key"]) if store.exists() else set()
    if store.runs_dir.is_dir():
        keys |= {p.name for p in store.runs_dir.iterdir() if p.is_dir() and not p.name.startswith(".")
                 and (p / "stage.json").exists()}
    return keys


def resolve(prefixes: Iterable[str], keys: set[str]) -> list[str]:
    """Whole keys for key prefixes: each at least MIN_PREFIX characters and matching one run."""
    out: list[str] = []
    for prefix in prefixes:
        prefix = prefix.strip()
        if len(prefix) < MIN_PREFIX:
            raise UserError(f"key {prefix!r} is too short: give at least {MIN_PREFIX} characters of a run key "
                            f"(see `tickets runs ls`)")
        found = sorted(k for k in keys if k.startswith(prefix))
        if not found:
            raise UserError(f"no run with key {prefix!r} in the store or under runs/")
        if len(found) > 1 and prefix not in found:
            raise UserError(f"key prefix {prefix!r} is ambiguous: {', '.join(found[:5])}")
        key = prefix if prefix in found else found[0]
        if key not in out:
            out.append(key)
    return out


def dependents(store: Store, keys: Sequence[str]) -> list[str]:
    """Runs (stored, or on disk) whose stage depends on one of `keys`, directly or through others."""
    edges: dict[str, set[str]] = {}
    if store.exists():
        for key, deps in store.frame("SELECT key, deps FROM runs").itertuples(index=False):
            try:
                edges[key] = set(json.loads(deps or "{}").values())
            except (ValueError, AttributeError):
                continue
    if store.runs_dir.is_dir():
        for path in store.runs_dir.glob("*/stage.json"):
            try:
                edges.setdefault(path.parent.name, set(json.loads(path.read_text()).get("deps", {}).values()))
            except (OSError, ValueError, AttributeError):
                continue
    found: list[str] = []
    frontier = set(keys)
    while frontier:
        nxt = {k for k, deps in edges.items() if deps & frontier and k not in found and k not in keys}
        found.extend(sorted(nxt))
        frontier = nxt
    return found


def remove_runs(store: Store, keys: Sequence[str]) -> int:
    """Remove run directories, then store rows; returns how many runs were removed."""
    from registry.runcheck import safe_rundir

    for key in keys:
        rundir = safe_rundir(store.runs_dir, key)  # a stored key never names a path outside runs/
        held = lease.holder(rundir) if rundir is not None else None
        if held is not None:
            raise UserError(f"run {key} is running (lease held by pid {held.get('pid')} on {held.get('host')}); "
                            f"nothing removed")
    if store.runs_dir.is_dir():  # removals killed half-way earlier
        for old in store.runs_dir.glob(f"{REMOVING}*"):
            shutil.rmtree(old, ignore_errors=True)
    for key in keys:
        rundir = safe_rundir(store.runs_dir, key)
        if rundir is not None and rundir.exists():
            aside = rundir.with_name(f"{REMOVING}{key}.{os.getpid()}")
            os.replace(rundir, aside)
            shutil.rmtree(aside, ignore_errors=True)
    store.forget(list(keys))
    return len(keys)


def describe(store: Store, keys: Sequence[str]) -> list[str]:
    """One line per run: key, kind, axes, status (from the store, else from its stage.json)."""
    rows = {}
    if store.exists() and keys:
        frame = store.frame("SELECT key, kind, status, dataset, model, method, sparsity, seed FROM runs "
                            "WHERE list_contains(?, key)", [list(keys)])
        rows = {r["key"]: r for r in frame.to_dict("records")}
    lines = []
    for key in keys:
        r = rows.get(key)
        if r is None:
            lines.append(f"{key} (run directory only, not in the store)")
        else:
            lines.append(f"{key} {r['kind']} {r['dataset']}/{r['model']} {r['method']} "
                         f"p={r['sparsity']} seed={r['seed']} {r['status']}")
    return lines
