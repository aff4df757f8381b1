"""Run directory -> store rows. Idempotent: ingesting a run twice leaves the same rows.

Each file is read with an explicit list of fields (never schema inference over a glob), so a key
that only some runs write is never silently dropped and one bad file spoils only its own run. A
run whose files cannot be read is reported and left out of the store entirely."""
from __future__ import annotations

import json
import math
import os
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from registry.domain import AXES, Stage
from registry.errors import UserError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from registry.store import Store

RESULT_FIELDS = ("test_acc", "best_test_acc", "train_loss", "test_loss", "achieved_sparsity",
                 "collapsed", "seconds", "params", "flops", "dense_params", "dense_flops", "val_selected_test_acc",
                 "test_top5")
COUNT_FIELDS = ("params", "flops", "dense_params", "dense_flops")  # integers; absent in older runs
EPOCH_FIELDS = ("train_loss", "train_acc", "test_loss", "test_acc", "lr", "seconds", "test_top5")
LAYER_FIELDS = ("layer", "shape", "weights", "kept", "keep_ratio")
RUNTIME_FIELDS = ("device", "gpu_model", "torch_version", "cuda_version", "threads",
                  "world_size", "backend", "cpu_capability")  # from meta.json
PROVENANCE_FIELDS = ("git_commit", "git_dirty", "git_diff_hash", "env_hash", "torch_build",
                     "data_fingerprint")  # from meta.json (registry/provenance.py)


def _count(value: Any) -> int | None:
    """A non-negative integer count, or None when a run did not record it."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or value < 0:
        return None
    return int(value)


class CorruptRun(UserError):
    """A run directory whose files cannot be read; the store is left unchanged for it."""


def _load(path: Path, what: str) -> Any:
    from registry.atomic import loads

    try:
        return loads(path.read_text())
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


def _studies(rundir: Path) -> str | None:
    from registry.membership import joined, read
    from registry.runcheck import check_studies

    return joined(check_studies(rundir, read(rundir))) or None


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
    except (ValueError, TypeError, AttributeError, KeyError, RecursionError) as exc:
        raise CorruptRun(f"{rundir}: malformed run files ({type(exc).__name__}: {exc})") from None


def _read_run(rundir: Path) -> dict[str, list[dict[str, Any]]]:
    stage_path = rundir / "stage.json"
    if not stage_path.exists():
        raise CorruptRun(f"{rundir}: no stage.json")
    stage = _load(stage_path, "stage.json")
    if not isinstance(stage, dict) or "key" not in stage:
        raise CorruptRun(f"{stage_path}: corrupt stage.json (no key)")
    key = stage["key"]
    if rundir.name != key:  # a copy (`cp -a runs/K runs/K.old`) must never stand in for the run
        raise CorruptRun(f"{rundir}: the directory is not named after its key {key} (a copy?)")
    if isinstance(stage.get("identity"), dict) and isinstance(stage.get("kind"), str):
        if Stage(stage["kind"], stage["identity"], {}, {}, deps=stage.get("deps") or {}).key != key:
            raise CorruptRun(f"{stage_path}: its kind, identity and deps do not hash to its key {key} (edited?)")
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
        "studies": _studies(rundir),
        **{name: meta.get(name) for name in RUNTIME_FIELDS},
    }
    run["threads"] = None if run["threads"] is None else int(run["threads"])
    run["world_size"] = None if run["world_size"] is None else int(run["world_size"])
    run.update(_provenance(meta, stage))
    for axis in AXES:
        run[axis] = columns.get(axis)
    run["sparsity"] = _float(run["sparsity"])
    run["seed"] = None if run["seed"] is None else int(run["seed"])
    if run["seed"] is not None and not 0 <= run["seed"] < 2 ** 63:  # the store's seed is a BIGINT
        raise CorruptRun(f"{stage_path}: seed {run['seed']} is not an integer in [0, 2**63)")
    run["variant"] = str(run["variant"] or "")

    out: dict[str, list[dict[str, Any]]] = {"runs": [run], "results": [], "epochs": [], "layers": [], "evals": []}
    if (rundir / "result.json").exists():
        seen = (rundir / "result.json").stat()  # before reading: a later change is noticed by planning
        result = _load(rundir / "result.json", "result.json")
        if not isinstance(result, dict):
            raise CorruptRun(f"{rundir / 'result.json'}: corrupt result.json (not an object)")
        run["status"] = "done"
        run["result_bytes"], run["result_mtime_ns"] = seen.st_size, seen.st_mtime_ns
        if "evals" in result:  # an evaluation stage: its metrics, no training result of its own
            out["evals"] = _eval_rows(rundir, key, result, stage)
            return out
        row = {name: _float(result.get(name)) for name in RESULT_FIELDS
               if name != "collapsed" and name not in COUNT_FIELDS}
        row.update({name: _count(result.get(name)) for name in COUNT_FIELDS})
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
                from registry.atomic import loads

                rec = loads(line)
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
    from registry.runcheck import check_rows

    check_rows(rundir, out)
    return out


def _provenance(meta: Mapping[str, Any], stage: Mapping[str, Any]) -> dict[str, Any]:
    from registry.provenance import stage_domain_version

    out = {name: (None if meta.get(name) is None else str(meta[name])) for name in PROVENANCE_FIELDS}
    out["git_dirty"] = None if meta.get("git_dirty") is None else bool(meta["git_dirty"])
    out["domain_version"] = stage_domain_version(stage)
    return out


def _eval_rows(rundir: Path, key: str, result: dict, stage: dict) -> list[dict[str, Any]]:
    """Rows of the `evals` table from an evaluation stage's result.json: {"evals": [{"eval",
    "metric", "value"}], "run_key"?}; the evaluated run is `run_key`, else the stage's "run" dep."""
    path = rundir / "result.json"
    run_key = result.get("run_key") or (stage.get("deps") or {}).get("run")
    if not run_key:
        raise CorruptRun(f"{path}: evaluation result names no evaluated run (run_key)")
    rows, seen = [], set()
    for item in result["evals"]:
        if not isinstance(item, dict) or not item.get("eval") or not item.get("metric"):
            raise CorruptRun(f"{path}: malformed evals entry {item!r}")
        value = _float(item.get("value"))
        if value is None or not math.isfinite(value):
            raise CorruptRun(f"{path}: {item['eval']} {item['metric']} = {item.get('value')!r} is not a finite number")
        ident = (str(item["eval"]), str(item["metric"]))
        if ident in seen:
            raise CorruptRun(f"{path}: {ident[0]} {ident[1]} appears twice")
        seen.add(ident)
        rows.append({"key": key, "run_key": str(run_key), "eval": ident[0], "metric": ident[1], "value": value})
    return rows


def frames_of(rows: Mapping[str, list[dict[str, Any]]]) -> dict[str, "pd.DataFrame"]:
    import pandas as pd

    from registry.columns import COLUMNS

    return {table: pd.DataFrame(rows.get(table) or [], columns=COLUMNS[table]) for table in COLUMNS}


def ingest(store: "Store", rundirs: Iterable[str | Path]) -> tuple[int, list[str]]:
    """Ingest finished run directories in one short write session.

    Returns (rows written, problems): each problem is one line naming a run that was left out."""
    merged: dict[str, list[dict[str, Any]]] = {"runs": [], "results": [], "epochs": [], "layers": [], "evals": []}
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
        frames["evals"] = frames["evals"].drop_duplicates(["key", "eval", "metric"], keep="last")
    try:
        return store.replace_runs(frames), problems
    except Exception as exc:
        if not _row_error(exc):
            raise
    # Some row the checks above did not foresee was refused: the batch is rolled back, so store the
    # runs one by one and report the ones that fail; one bad run never keeps the others out.
    written = 0
    for key in frames["runs"]["key"]:
        one = {table: frame[frame["key"] == key] for table, frame in frames.items()}
        try:
            written += store.replace_runs(one)
        except Exception as exc:
            if not _row_error(exc):
                raise
            problems.append(f"run {key}: refused by the store ({type(exc).__name__}: {str(exc).splitlines()[0]})")
    return written, problems


def _row_error(exc: BaseException) -> bool:
    """An error about the rows written (a value out of range, a bad type), not about the store
    itself being unavailable (locked, not a database), which must stay an error of the command."""
    import duckdb

    if isinstance(exc, UserError) or isinstance(exc, duckdb.IOException):
        return False
    return isinstance(exc, (duckdb.Error, OverflowError, ValueError, TypeError))


def ingest_all(store: "Store") -> tuple[int, list[str]]:
    """Rescan every run directory under the home, and forget the rows of local runs whose run
    directory is gone (imported runs have none): a deleted run is not done, it runs again."""
    from registry.sweep import sweep_home

    sweep_home(store.home)
    rundirs = sorted(p for p in store.runs_dir.iterdir() if p.is_dir() and not p.name.startswith(".")) \
        if store.runs_dir.exists() else []
    result = ingest(store, rundirs)
    forget_ghosts(store)
    return result


def forget_ghosts(store: "Store") -> list[str]:
    """Delete the rows of local runs whose run directory no longer exists; returns their keys."""
    if not store.exists():
        return []
    rows = store.frame("SELECT key FROM runs WHERE coalesce(source, 'local') <> 'imported' AND status <> 'imported'")
    present = set(os.listdir(store.runs_dir)) if store.runs_dir.exists() else set()
    ghosts = [k for k in rows["key"] if k not in present]
    if ghosts:
        store.forget(ghosts)
        shown = ", ".join(ghosts[:5]) + (f" and {len(ghosts) - 5} more" if len(ghosts) > 5 else "")
        warnings.warn(f"forgot {len(ghosts)} run{'s' if len(ghosts) > 1 else ''} whose run directory is gone "
                      f"(they run again when a study needs them): {shown}", stacklevel=2)
    return ghosts


def is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)
