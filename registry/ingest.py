"""Run directory -> store rows. Idempotent: ingesting a run twice leaves the same rows.

Each file is read with an explicit list of fields (never schema inference over a glob), so a key
that only some runs write is never silently dropped and one bad file spoils only its own run. A
run whose files cannot be read is reported and left out of the store entirely."""
from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from registry.domain import AXES
from registry.errors import UserError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from registry.store import Store

RESULT_FIELDS = ("test_acc", "best_test_acc", "train_loss", "test_loss", "achieved_sparsity",
                 "collapsed", "seconds")
EPOCH_FIELDS = ("train_loss", "train_acc", "test_loss", "test_acc", "lr", "seconds")
LAYER_FIELDS = ("layer", "shape", "weights", "kept", "keep_ratio")
RUNTIME_FIELDS = ("device", "gpu_model", "torch_version", "cuda_version", "threads")  # from meta.json


class CorruptRun(UserError):
    """A run directory whose files cannot be read; the store is left unchanged for it."""


def _load(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise CorruptRun(f"{path}: corrupt {what} ({exc})") from None


def _time(value: Any) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(float(value), tz=timezone.utc).replace(tzinfo=None)
    except (TypeError, ValueError):
        return None


def _float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None if value is None else float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def finished(rundir: Path) -> bool:
    return (rundir / "result.json").exists() or (rundir / "error.json").exists()


def read_run(rundir: str | Path) -> dict[str, list[dict[str, Any]]]:
    """Rows for one finished run directory: {"runs": [...], "results": [...], "epochs": [...], "layers": [...]}.
    Any malformed file makes the whole run a CorruptRun (reported, left out), never a crash of the
    batch it was ingested with."""
    try:
        return _read_run(Path(rundir))
    except CorruptRun:
        raise
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        raise CorruptRun(f"{rundir}: malformed run files ({type(exc).__name__}: {exc})") from None


def _read_run(rundir: Path) -> dict[str, list[dict[str, Any]]]:
    stage_path = rundir / "stage.json"
    if not stage_path.exists():
        raise CorruptRun(f"{rundir}: no stage.json")
    stage = _load(stage_path, "stage.json")
    if not isinstance(stage, dict) or "key" not in stage:
        raise CorruptRun(f"{stage_path}: corrupt stage.json (no key)")
    key = stage["key"]
    meta = _load(rundir / "meta.json", "meta.json") if (rundir / "meta.json").exists() else {}
    columns = stage.get("columns") or {}
    run: dict[str, Any] = {
        "key": key, "kind": stage.get("kind"), "source": "local",
        "spec": json.dumps(stage.get("spec"), sort_keys=True, default=str),
        "deps": json.dumps(stage.get("deps") or {}, sort_keys=True),
        "rundir": str(rundir.resolve()),
        "host": meta.get("host"), "started": _time(meta.get("started")),
        "finished": _time(meta.get("finished")), "code_version": meta.get("code_version"),
        "error": None, "traceback": None,
        **{name: meta.get(name) for name in RUNTIME_FIELDS},
    }
    run["threads"] = None if run["threads"] is None else int(run["threads"])
    for axis in AXES:
        run[axis] = columns.get(axis)
    run["sparsity"] = _float(run["sparsity"])
    run["seed"] = None if run["seed"] is None else int(run["seed"])
    run["variant"] = str(run["variant"] or "")

    out: dict[str, list[dict[str, Any]]] = {"runs": [run], "results": [], "epochs": [], "layers": []}
    if (rundir / "result.json").exists():
        result = _load(rundir / "result.json", "result.json")
        if not isinstance(result, dict):
            raise CorruptRun(f"{rundir / 'result.json'}: corrupt result.json (not an object)")
        run["status"] = "done"
        row = {name: _float(result.get(name)) for name in RESULT_FIELDS if name != "collapsed"}
        if row["test_acc"] is None or not math.isfinite(row["test_acc"]):
            raise CorruptRun(f"{rundir / 'result.json'}: test_acc {result.get('test_acc')!r} is not a finite number")
        collapsed = result.get("collapsed")
        if collapsed is not None and not isinstance(collapsed, bool) and collapsed not in (0, 1):
            raise CorruptRun(f"{rundir / 'result.json'}: collapsed {collapsed!r} is not true/false")
        row["collapsed"] = None if collapsed is None else bool(collapsed)
        row["key"] = key
        extra = {k: v for k, v in result.items() if k not in RESULT_FIELDS}
        row["extra"] = json.dumps(extra, sort_keys=True, default=str) if extra else None
        out["results"].append(row)
    elif (rundir / "error.json").exists():
        error = _load(rundir / "error.json", "error.json")
        run["status"] = "failed"
        run["error"] = str((error or {}).get("reason", "unknown failure"))
        run["traceback"] = (error or {}).get("traceback")
    else:
        raise CorruptRun(f"{rundir}: not finished (no result.json or error.json)")

    epochs: dict[tuple[str, int], dict[str, Any]] = {}  # a resumed run may repeat an epoch: last wins
    metrics = rundir / "metrics.jsonl"
    if metrics.exists():
        for number, line in enumerate(metrics.read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                phase, epoch = str(rec.get("phase", "train")), int(rec["epoch"])
            except (ValueError, KeyError, TypeError) as exc:
                raise CorruptRun(f"{metrics}:{number}: corrupt metrics line ({exc})") from None
            epochs[(phase, epoch)] = {"key": key, "phase": phase, "epoch": epoch,
                                      **{f: _float(rec.get(f)) for f in EPOCH_FIELDS}}
    out["epochs"] = list(epochs.values())
    if (rundir / "layers.json").exists():
        layers = _load(rundir / "layers.json", "layers.json")
        if not isinstance(layers, list):
            raise CorruptRun(f"{rundir / 'layers.json'}: corrupt layers.json (not a list)")
        for idx, rec in enumerate(layers):
            out["layers"].append({
                "key": key, "idx": idx, "layer": str(rec.get("layer", idx)),
                "shape": json.dumps(rec.get("shape")),
                "weights": None if rec.get("weights") is None else int(rec["weights"]),
                "kept": None if rec.get("kept") is None else int(rec["kept"]),
                "keep_ratio": _float(rec.get("keep_ratio"))})
    return out


def frames_of(rows: Mapping[str, list[dict[str, Any]]]) -> dict[str, "pd.DataFrame"]:
    import pandas as pd

    from registry.store import COLUMNS

    return {table: pd.DataFrame(rows.get(table) or [], columns=COLUMNS[table]) for table in COLUMNS}


def ingest(store: "Store", rundirs: Iterable[str | Path]) -> tuple[int, list[str]]:
    """Ingest finished run directories in one short write session.

    Returns (rows written, problems): each problem is one line naming a run that was left out."""
    merged: dict[str, list[dict[str, Any]]] = {"runs": [], "results": [], "epochs": [], "layers": []}
    problems: list[str] = []
    for rundir in rundirs:
        rundir = Path(rundir)
        if not finished(rundir):
            continue
        try:
            rows = read_run(rundir)
        except CorruptRun as exc:
            problems.append(str(exc))
            continue
        for table, items in rows.items():
            merged[table].extend(items)
    if not merged["runs"]:
        return 0, problems
    frames = frames_of(merged)
    if frames["runs"]["key"].duplicated().any():  # two run directories claim one key: keep the last
        frames["runs"] = frames["runs"].drop_duplicates("key", keep="last")
        frames["results"] = frames["results"].drop_duplicates("key", keep="last")
        frames["epochs"] = frames["epochs"].drop_duplicates(["key", "phase", "epoch"], keep="last")
        frames["layers"] = frames["layers"].drop_duplicates(["key", "idx"], keep="last")
    return store.replace_runs(frames), problems


def ingest_all(store: "Store") -> tuple[int, list[str]]:
    """Rescan every run directory under the home."""
    if not store.runs_dir.exists():
        return 0, []
    return ingest(store, sorted(p for p in store.runs_dir.iterdir() if p.is_dir()))


def is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)
