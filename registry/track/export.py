"""Backfill: runs already in the store written to a tracker from their `epochs`, `layers` and
`results` rows, exactly as a live run would have written them (same names, groups, params, tags).

Idempotent: TensorBoard rewrites a run's folder whole; MLflow skips runs whose `tickets.key` tag it
already holds; W&B skips runs it has under their id (an offline run folder, or the
`tickets-exported.json` list next to them), so exporting twice never duplicates a run."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Callable, Mapping

from registry.errors import UserError
from registry.track.base import KNOWN, factory, missing_library, run_info

EPOCH_FIELDS = ("train_loss", "train_acc", "test_loss", "test_acc", "lr", "seconds")
AXES = ("dataset", "model", "method", "check", "sparsity", "seed", "variant")
META = ("code_version", "git_commit", "git_dirty", "env_hash", "torch_build", "data_fingerprint",
        "domain_version", "host", "device")
RESULT_COLUMNS = ("test_acc", "best_test_acc", "train_loss", "test_loss", "achieved_sparsity", "collapsed",
                  "seconds", "params", "flops", "dense_params", "dense_flops", "val_selected_test_acc")


def _plain(value: Any) -> Any:
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _wandb_done(folder: Path, key: str) -> bool:
    from registry.track.wandb import run_id

    marker = folder / "tickets-exported.json"
    try:
        if key in json.loads(marker.read_text()):
            return True
    except (OSError, ValueError):
        pass
    return any((folder / "wandb").glob(f"offline-run-*-{run_id(key)}"))


def _wandb_mark(folder: Path, key: str) -> None:
    from registry.atomic import write_json

    marker = folder / "tickets-exported.json"
    try:
        known = json.loads(marker.read_text())
    except (OSError, ValueError):
        known = []
    write_json(marker, sorted(set(known) | {key}))


def export_runs(store: Any, tracker: str, target: str | None = None, study: str | None = None,
                say: Callable[[str], None] = lambda line: None, **filters: Any) -> tuple[int, int]:
    """Write the finished runs matching `filters` (axis values, `kind`, `study`) to `tracker`;
    returns (runs written, runs skipped because the tracker has them)."""
    from registry import api

    if tracker not in KNOWN:
        raise UserError(f"unknown tracker {tracker!r}; known: {', '.join(KNOWN)}")
    hint = missing_library(tracker)
    if hint:
        raise UserError(hint.replace(" (training goes on without it)", ""))
    wanted = {k: v for k, v in filters.items() if v is not None}
    if study:
        wanted["study"] = study
    runs = api.runs(home=store.home, **wanted)
    runs = runs[runs["status"] == "done"]
    if runs.empty:
        return 0, 0
    keys = list(runs["key"])
    with store.reader() as con:
        import pandas as pd

        con.register("chosen", pd.DataFrame({"key": keys}))
        epochs = con.execute("SELECT * FROM epochs WHERE key IN (SELECT key FROM chosen) ORDER BY key, phase, epoch").df()
        layers = con.execute("SELECT * FROM layers WHERE key IN (SELECT key FROM chosen) ORDER BY key, idx").df()
        results = con.execute("SELECT * FROM results WHERE key IN (SELECT key FROM chosen)").df()
        # evaluation stages are not runs of their own: their metrics join the evaluated run's summary
        evaluations = con.execute("SELECT key, run_key, eval, metric, value FROM evals").df()
    by_key = {name: frame.groupby("key") for name, frame in (("epochs", epochs), ("layers", layers))}
    result_of = {r["key"]: r for r in results.to_dict("records")}
    evaluation_stages = set(evaluations["key"])
    evals_of: dict[str, dict[str, float]] = {}
    for rec in evaluations.to_dict("records"):
        evals_of.setdefault(rec["run_key"], {})[f"eval/{rec['eval']}/{rec['metric']}"] = float(rec["value"])
    runs = runs[~runs["key"].isin(evaluation_stages)]
    make = factory(tracker)
    written = skipped = 0
    for row in runs.to_dict("records"):
        key = row["key"]
        from registry.membership import names_of

        names = names_of(row.get("studies"))
        if study:  # grouped under the study asked for, whatever else shares the run
            names = [study] + [n for n in names if n != study]
        stage = {"key": key, "kind": row["kind"], "columns": {a: _plain(row.get(a)) for a in AXES},
                 "spec": row.get("spec") or "{}"}
        info = run_info(stage, None, {m: _plain(row.get(m)) for m in META}, names)
        info = type(info)(**{**info.__dict__, "home": Path(store.home), "studies": tuple(names),
                             "group": names[0] if names else ""})
        folder = None
        if tracker == "wandb":
            from registry.track.wandb import folder_of

            folder = Path(folder_of(info.home))
            if _wandb_done(folder, key):
                skipped += 1
                continue
        try:
            run = make(target, info, fresh=True)
            if getattr(run, "skip", False):
                skipped += 1
                continue
            if key in by_key["epochs"].groups:
                for rec in by_key["epochs"].get_group(key).to_dict("records"):
                    metrics = {f: float(rec[f]) for f in EPOCH_FIELDS if _plain(rec.get(f)) is not None}
                    kept = _achieved(by_key["layers"], key)
                    if kept is not None:
                        metrics["sparsity"] = kept
                    run.epoch(str(rec["phase"]), int(rec["epoch"]), metrics)
            layer_rows = ([{k: _plain(v) for k, v in r.items()} for r in by_key["layers"].get_group(key).to_dict("records")]
                          if key in by_key["layers"].groups else [])
            run.finish({**_summary(result_of.get(key) or {}), **evals_of.get(key, {})}, layer_rows, None)
        except UserError:
            raise
        except Exception as exc:
            raise UserError(f"{tracker}: run {key} could not be written ({type(exc).__name__}: "
                            f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
        if folder is not None:
            _wandb_mark(folder, key)
        written += 1
        say(f"{key} {info.name}")
    return written, skipped


def _achieved(layers: Any, key: str) -> float | None:
    if key not in layers.groups:
        return None
    frame = layers.get_group(key)
    total = float(frame["weights"].fillna(0).sum())
    return 1.0 - float(frame["kept"].fillna(0).sum()) / total if total else None


def _summary(result: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for name in RESULT_COLUMNS:
        value = _plain(result.get(name))
        if isinstance(value, bool):
            value = int(value)
        if isinstance(value, (int, float)):
            out[name] = value
    try:
        extra = json.loads(result.get("extra") or "{}")
    except (TypeError, ValueError):
        extra = {}
    out.update({k: v for k, v in extra.items() if isinstance(v, (int, float)) and not isinstance(v, bool)})
    return out
