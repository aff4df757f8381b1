"""MLflow: one MLflow run per tickets run, in the experiment named after its study, found again by
its tag `tickets.key` (a resumed run continues its MLflow run; a backfill skips runs already there).
Params are the run's flat spec (so MLflow's own grouping works on method, sparsity, seed, rule...),
tags its key, studies, code version and provenance; metrics `<phase>/<metric>` with the epoch as
step, `final/<metric>`, and the per-layer table as the artifact `layers.json`.
Where: the tracker's target (a folder, `file:`, `sqlite:///` or `http(s)://` URI), else
MLFLOW_TRACKING_URI, else the file store `<home>/mlruns` (MLflow 3 wants MLFLOW_ALLOW_FILE_STORE for
file stores; it is set for them)."""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

from registry.track.base import RunInfo, register

KEY_TAG = "tickets.key"
MAX_PARAM = 6000  # MLflow's limit on a param value


def tracking_uri(target: str | None, home: Path | None) -> str:
    uri = target or os.environ.get("MLFLOW_TRACKING_URI") or (str(home / "mlruns") if home else "mlruns")
    if "://" not in uri and not uri.startswith(("file:", "sqlite:", "databricks")):
        uri = Path(uri).expanduser().resolve().as_uri()
    if uri.startswith("file:"):
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    if uri.startswith(("http:", "https:")):  # an unreachable server: a warning within seconds, not minutes of retries
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    return uri


def _quiet() -> None:
    import logging

    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)


def client_for(target: str | None, home: Path | None):
    _quiet()
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri(target, home))


def experiment_id(client, name: str) -> str:
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    try:
        return client.create_experiment(name)
    except Exception:  # created meanwhile by another worker
        return client.get_experiment_by_name(name).experiment_id


def find_run(client, experiment: str, key: str):
    found = client.search_runs([experiment], filter_string=f"tags.`{KEY_TAG}` = '{key}'", max_results=1)
    return found[0] if found else None


class MlflowRun:
    def __init__(self, target: str | None, info: RunInfo, *, fresh: bool = False):
        from mlflow.entities import Param, RunTag

        self.client = client_for(target, info.home)
        experiment = experiment_id(self.client, info.group or "tickets")
        existing = find_run(self.client, experiment, info.key)
        self.skip = fresh and existing is not None  # a backfill of a run MLflow already has
        if existing is not None:
            self.run_id = existing.info.run_id
            return
        tags = {**info.tags, "mlflow.runName": info.name, "tickets.group": info.group}
        self.run_id = self.client.create_run(experiment, run_name=info.name, tags=tags).info.run_id
        params = [Param(k, str(v)[:MAX_PARAM]) for k, v in sorted(info.params.items())]
        for i in range(0, len(params), 100):  # MLflow takes at most 100 params per batch
            self.client.log_batch(self.run_id, params=params[i:i + 100])
        self.client.log_batch(self.run_id, tags=[RunTag("tickets.name", info.name)])

    def tag(self, tags: Mapping[str, str]) -> None:
        if self.skip or not tags:
            return
        from mlflow.entities import RunTag

        self.client.log_batch(self.run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])

    def epoch(self, phase: str, epoch: int, metrics: Mapping[str, float]) -> None:
        if self.skip:
            return
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self.client.log_batch(self.run_id, metrics=[Metric(f"{phase}/{k}", float(v), now, int(epoch))
                                                    for k, v in metrics.items()])

    def finish(self, summary: Mapping[str, Any], layers: Sequence[Mapping[str, Any]], failed: str | None) -> None:
        if self.skip:
            return
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        if summary:
            self.client.log_batch(self.run_id, metrics=[Metric(f"final/{k}", float(v), now, 0)
                                                        for k, v in summary.items()])
        if layers:
            self.client.log_dict(self.run_id, {"columns": ["idx", "layer", "weights", "kept", "keep_ratio"],
                                               "data": [[i, r.get("layer"), r.get("weights"), r.get("kept"),
                                                         r.get("keep_ratio")] for i, r in enumerate(layers)]},
                                 "layers.json")
        self.client.set_terminated(self.run_id, "FAILED" if failed else "FINISHED")


@register("mlflow")
def mlflow_run(target: str | None, info: RunInfo, fresh: bool = False) -> MlflowRun:
    return MlflowRun(target, info, fresh=fresh)
