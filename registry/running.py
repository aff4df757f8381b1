"""Stages running now, read from their run directories (the store only holds finished runs).

A stage is running while its `lease.json` is live (`registry.lease.is_live`); what it is doing
comes from `progress.json` (phase, epoch, epochs) and `stage.json` (its axes). Heartbeat age is the
time since the lease's last beat, the sign of a worker that is stuck or gone."""
from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from registry import lease as leases
from registry.atomic import read_json
from registry.domain import AXES

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

COLUMNS = ("key", "kind", *AXES, "studies", "host", "pid", "phase", "epoch", "epochs", "heartbeat_age_s",
           "started")


def _read(path: Path) -> dict[str, Any]:
    try:
        value = read_json(path)
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def running_rows(runs_dir: Path, now: float | None = None) -> list[dict[str, Any]]:
    """One row per run directory under `runs_dir` held by a live lease."""
    from registry.membership import joined, read

    now = time.time() if now is None else now
    rows = []
    if not runs_dir.is_dir():
        return rows
    for lease_path in sorted(runs_dir.glob(f"*/{leases.LEASE_FILE}")):
        rundir = lease_path.parent
        info = leases.read_lease(rundir)
        if not leases.is_live(info) or (rundir / "result.json").exists():
            continue
        stage = _read(rundir / "stage.json")
        progress = _read(rundir / "progress.json")
        meta = _read(rundir / "meta.json")
        columns = stage.get("columns") or {}
        rows.append({
            "key": rundir.name, "kind": stage.get("kind"), **{a: columns.get(a) for a in AXES},
            "studies": joined(read(rundir)), "host": info.get("host"), "pid": info.get("pid"),
            "phase": progress.get("phase"), "epoch": progress.get("epoch"), "epochs": progress.get("epochs"),
            "heartbeat_age_s": round(now - float(info.get("heartbeat") or now), 1),
            "started": meta.get("started"),
        })
    return rows


def running_frame(runs_dir: Path) -> "pd.DataFrame":
    import pandas as pd

    frame = pd.DataFrame(running_rows(runs_dir), columns=list(COLUMNS))
    frame["started"] = pd.to_datetime(frame["started"], unit="s", utc=True).dt.tz_localize(None)
    return frame
