"""Weights & Biases: one W&B run per tickets run, id = the run key (so a resumed run and a backfill
land in the same W&B run, and `wandb sync` of two exports is one run), named readably, grouped by
study, config = the run's flat spec, tags its studies; history `<phase>/<metric>` with
`<phase>/epoch`, summary `final/<metric>`, the per-layer keep ratios as a `wandb.Table`.
Mode: the tracker's target (`offline`, `online`), else WANDB_MODE, else offline (compute nodes
often have no network: `wandb sync <dir>/wandb/offline-run-*` uploads later). Folder: WANDB_DIR,
else `<home>`; project: WANDB_PROJECT, else "tickets"."""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Mapping, Sequence

from registry.track.base import RunInfo, register


def run_id(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", key)


def mode_of(target: str | None) -> str:
    mode = (target or os.environ.get("WANDB_MODE") or "offline").strip().lower()
    if mode not in ("offline", "online", "disabled"):
        raise ValueError(f"W&B mode {mode!r}; known: offline, online, disabled")
    return mode


def folder_of(home: Path | None) -> str:
    return os.environ.get("WANDB_DIR") or str(home if home is not None else Path.cwd())


class WandbRun:
    def __init__(self, target: str | None, info: RunInfo, *, fresh: bool = False):
        import wandb

        folder = folder_of(info.home)
        Path(folder).mkdir(parents=True, exist_ok=True)
        settings = wandb.Settings(silent=True, console="off", x_disable_stats=True, init_timeout=30)
        self.wandb = wandb
        self.run = wandb.init(project=os.environ.get("WANDB_PROJECT") or "tickets", dir=folder,
                              id=run_id(info.key), name=info.name, group=info.group or None,
                              job_type=info.kind or None, config=dict(info.params),
                              tags=[t[:64] for t in info.studies] or None, mode=mode_of(target),
                              resume="allow", reinit="create_new", settings=settings)
        self.run.summary.update({"tickets_key": info.key, **{k.replace(".", "_"): v for k, v in info.tags.items()}})

    def tag(self, tags: Mapping[str, str]) -> None:
        self.run.summary.update({k.replace(".", "_"): v for k, v in tags.items()})

    def epoch(self, phase: str, epoch: int, metrics: Mapping[str, float]) -> None:
        self.run.log({f"{phase}/epoch": int(epoch), **{f"{phase}/{k}": float(v) for k, v in metrics.items()}})

    def finish(self, summary: Mapping[str, Any], layers: Sequence[Mapping[str, Any]], failed: str | None) -> None:
        self.run.summary.update({f"final/{k}": v for k, v in summary.items()})
        if layers:
            table = self.wandb.Table(columns=["idx", "layer", "weights", "kept", "keep_ratio"],
                                     data=[[i, str(r.get("layer")), r.get("weights"), r.get("kept"), r.get("keep_ratio")]
                                           for i, r in enumerate(layers)])
            self.run.log({"layers/keep_ratios": table})
        self.run.finish(exit_code=1 if failed else 0)


@register("wandb")
def wandb_run(target: str | None, info: RunInfo, fresh: bool = False) -> WandbRun:
    return WandbRun(target, info, fresh=fresh)
