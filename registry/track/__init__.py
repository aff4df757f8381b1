"""Trackers as sinks (issue 21): TensorBoard, MLflow and Weights & Biases observe a run's events.

The training loop already reports every finished epoch through the domain's `report` callback;
the registry's worker hands those events, and the final result with the run's per-layer table, to
a `Sink` (sink.py). The sink feeds the chosen trackers from a background thread, so a tracker that
is slow, offline or broken never slows or fails a training: its first error is one warning line,
after which it is dropped, and the run is stored as usual. Trackers are chosen by name, per study
(`Study(..., track=("wandb",))`), per command (`-X track=tensorboard`) or with `TICKETS_TRACK`;
each is an optional extra (`pip install "tickets[mlflow]"`). `export.py` writes runs already in the
store the same way, idempotently (the run key identifies a run in every tracker)."""
from __future__ import annotations

from registry.track.base import TRACKERS, RunInfo, Tracker, parse, run_info  # noqa: F401
