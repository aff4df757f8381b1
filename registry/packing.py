"""Packs: several stages trained together by one worker (the scheduler's side).

A domain may say which stages can share one training job: `pack_key(stage) -> str | None` (stages
with the same non-None key, e.g. one architecture and one schedule, can be trained as one stacked
model) and `run_packed(stages, rundirs, dep_dirs, reports) -> [result | exception]`, which must give
every member the result its separate run would give (to floating-point summation order): what a
stage computes never depends on what it was packed with. Its key, run directory and files are its
own; a pack only changes which process trains it.

The scheduler groups ready stages into packs of at most `size` and hands each pack to the executor
as one job whose run directory, `<home>/packs/<id>/`, holds `pack.json` {"members": [run dirs],
"keys": [...], "domain": ...}. The worker (registry.pack_worker) takes each member's lease, runs the
pack and writes each member's own result.json or error.json, then the pack's result.json when every
member succeeded (error.json otherwise, so the executor blocks the pack's dependents).

Only stages whose run directory is new are packed: a stage with checkpoints from an interrupted run
resumes alone from them instead of restarting in a pack."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from registry.atomic import write_json
from registry.identity import key_of

PACKS_DIR = "packs"


@dataclass(frozen=True)
class Pack:
    key: str  # the pack's id (a hash of its members' keys)
    members: tuple[str, ...]  # stage keys, in dependency order


def form_packs(keys: Sequence[str], pack_key: Callable[[str], str | None], size: int,
               packable: Callable[[str], bool] = lambda key: True) -> list[Pack | str]:
    """Group `keys` (dependency order) into packs of at most `size` by `pack_key`; a stage without a
    key, or the only one of its key, stays a plain key. Members of one pack share a key, and a
    domain's key includes the stage kind, so no member depends on another."""
    if size <= 1:
        return list(keys)
    groups: dict[str, list[str]] = {}
    order: list[tuple[str, str | None]] = []
    for key in keys:
        group = pack_key(key) if packable(key) else None
        if group is None:
            order.append((key, None))
            continue
        if group not in groups:
            groups[group] = []
            order.append((group, group))
        groups[group].append(key)
    out: list[Pack | str] = []
    for item, group in order:
        if group is None:
            out.append(item)
            continue
        members = groups[group]
        for start in range(0, len(members), size):
            chunk = tuple(members[start:start + size])
            out.append(chunk[0] if len(chunk) == 1 else Pack(key_of({"pack": list(chunk)}), chunk))
    return out


def write_pack(home: Path, pack: Pack, rundirs: Sequence[Path], domain_path: str) -> Path:
    """The pack's directory with a fresh pack.json (an old pack's outcome is set aside, so a retry
    of the same members runs again)."""
    folder = Path(home) / PACKS_DIR / pack.key
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("result.json", "error.json"):
        path = folder / name
        if path.exists():
            os.replace(path, folder / f"{name}.prev")
    write_json(folder / "pack.json", {"keys": list(pack.members), "members": [str(r) for r in rundirs],
                                      "domain": domain_path})
    return folder


def member_outcome(rundir: Path) -> tuple[str, str]:
    """("done" | "failed" | "unfinished", reason) of one member after its pack ended."""
    from registry.atomic import read_json

    if (rundir / "result.json").exists():
        return "done", ""
    if (rundir / "error.json").exists():
        try:
            return "failed", str(read_json(rundir / "error.json").get("reason"))
        except ValueError:
            return "failed", "unreadable error.json"
    return "unfinished", "its pack ended without running it (leased elsewhere?); run the study again"


def domain_pack_key(domain: Any, stages: Mapping[str, Any]) -> Callable[[str], str | None] | None:
    """The domain's `pack_key` over stage keys, or None when the domain cannot pack."""
    fn = getattr(domain, "pack_key", None)
    if fn is None or getattr(domain, "run_packed", None) is None:
        return None
    return lambda key: fn(stages[key])
