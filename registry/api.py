"""Python API over the store: pandas DataFrames for notebooks and scripts, plus the exchange format.

    from registry import api
    api.results(dataset="cifar10", method=["lt", "snip"])      # one row per run (run_results view)
    api.sql("SELECT method, avg(test_acc) FROM run_results GROUP BY ALL")

Exchange files (CSV/Parquet; DESIGN.md §5) carry one row per run with at least dataset, model,
method, check, sparsity, seed, test_acc. Imported rows are status/source "imported" and keyed by
the hash of the row's identity, so importing a file twice adds nothing."""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from registry.errors import UserError
from registry.identity import key_of
from registry.sqlguard import reading_statement
from registry.columns import COLUMNS
from registry.store import Store

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

REQUIRED = ("dataset", "model", "method", "check", "sparsity", "seed", "test_acc")  # DESIGN.md §5
RESULT_COLUMNS = ("test_acc", "best_test_acc", "train_loss", "test_loss", "achieved_sparsity",
                  "collapsed", "seconds")
# Columns of an export that describe the run's bookkeeping, not its identity.
BOOKKEEPING = {"key", "kind", "status", "source", "spec", "rundir", "host", "started", "finished",
               "code_version", "error", "traceback", "deps", "extra", "studies"}


def home_path(home: str | os.PathLike | None = None) -> Path:
    return Path(home or os.environ.get("TICKETS_HOME") or ".tickets").resolve()


def store(home: str | os.PathLike | None = None) -> Store:
    return Store(home_path(home))


class NoStoreWarning(UserWarning):
    """A read found no store where it looked: most often the wrong working folder or TICKETS_HOME."""


def _reading(home: str | os.PathLike | None) -> Store:
    """The store to read; warns (naming where it looked) when there is none, since the empty frame
    that follows is more often a wrong home than an empty study. Turn it into an error with
    `warnings.simplefilter("error", NoStoreWarning)`."""
    import warnings

    s = store(home)
    if not s.exists():
        how = "the home argument" if home else ("TICKETS_HOME" if os.environ.get("TICKETS_HOME")
                                               else "the default .tickets in the working folder")
        warnings.warn(NoStoreWarning(f"no store at {s.path} (from {how}); the result is empty. Pass home= "
                                     f"or set TICKETS_HOME to the folder holding store.duckdb"), stacklevel=3)
    return s


# ---------------------------------------------------------------------------------- reads
def sql(query: str, params: Any = None, home: str | os.PathLike | None = None, *,
        limits: Any = None, rows: bool = False) -> "pd.DataFrame":
    """Run one reading statement (SELECT, WITH, DESCRIBE, ...) on a locked read-only connection;
    anything else, several statements, or file/network access is refused with a UserError.
    `limits` (registry.sqllimits.SqlLimits) caps memory, threads and time; by default 2 GB,
    2 threads, 60 s, or the TICKETS_SQL_* variables. `rows=True` returns `registry.store.Rows`
    (columns, row tuples) instead of a DataFrame."""
    return _reading(home).frame(reading_statement(query), params, locked=True, limits=limits, rows=rows)


check_read_only = reading_statement  # the older name


def _where(filters: dict[str, Any]) -> tuple[str, list[Any]]:
    clauses, params = [], []
    for name, value in filters.items():
        if value is None:
            continue
        column = '"' + str(name).replace('"', '""') + '"'  # a quoted name, never SQL of its own
        if name == "study":  # runs some study asked for (registry.membership); a list means any of
            from registry.membership import sql_filter

            names = [value] if isinstance(value, str) else list(value)
            clauses.append("(" + " OR ".join([sql_filter()] * len(names)) + ")")
            params.extend(names)
            continue
        if isinstance(value, (list, tuple, set)):
            values = list(value)
            if not values:
                continue
            clauses.append(f"{column} IN ({', '.join('?' * len(values))})")
            params.extend(values)
        elif name == "sparsity":
            clauses.append(f"abs({column} - ?) < 1e-9")
            params.append(float(value))
        else:
            clauses.append(f"{column} = ?")
            params.append(value)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def runs(home: str | os.PathLike | None = None, **filters: Any) -> "pd.DataFrame":
    """Rows of the runs table, filtered by column values (a list means any of)."""
    unknown = sorted(set(filters) - set(COLUMNS["runs"]) - {"study"})
    if unknown:
        raise UserError(f"unknown filter {unknown[0]!r}; known: {', '.join(COLUMNS['runs'])}")
    where, params = _where(filters)
    return _reading(home).frame(f"SELECT * FROM runs{where} ORDER BY dataset, model, method, \"check\", "
                             f"sparsity, seed, key", params)


def results(home: str | os.PathLike | None = None, **filters: Any) -> "pd.DataFrame":
    """Rows of the `run_results` view (one per run, with its final metrics)."""
    where, params = _where(filters)
    return _reading(home).frame(f"SELECT * FROM run_results{where} ORDER BY dataset, model, method, "
                             f"\"check\", sparsity, seed, key", params)


def running(home: str | os.PathLike | None = None, **filters: Any) -> "pd.DataFrame":
    """Stages running now (live lease), from the run directories: host, phase, epoch, heartbeat age.
    Filters are axis values (a list means any of) or `study`."""
    from registry.membership import names_of
    from registry.running import COLUMNS as RUNNING, running_frame

    unknown = sorted(set(filters) - set(RUNNING) - {"study"})
    if unknown:
        raise UserError(f"unknown filter {unknown[0]!r}; known: {', '.join(RUNNING)}, study")
    frame = running_frame(store(home).runs_dir)
    for name, value in filters.items():
        if value is None:
            continue
        wanted = list(value) if isinstance(value, (list, tuple, set)) else [value]
        if name == "study":
            keep = frame["studies"].map(lambda text: any(w in names_of(text) for w in wanted))
        elif name == "sparsity":
            keep = frame["sparsity"].map(lambda v: v is not None and any(abs(float(v) - float(w)) < 1e-9 for w in wanted))
        else:
            keep = frame[name].isin(wanted)
        frame = frame[keep.astype(bool)]
    return frame.reset_index(drop=True)


def evals(home: str | os.PathLike | None = None, **filters: Any) -> "pd.DataFrame":
    """Rows of the `eval_results` view: one per evaluated run x evaluation x metric (`eval`,
    `eval_metric`, `value`) with the run's columns, e.g. `evals(eval="calibration", eval_metric="ece")`."""
    where, params = _where(filters)
    return store(home).frame(f"SELECT * FROM eval_results{where} ORDER BY dataset, model, method, "
                             f"\"check\", sparsity, seed, key, eval, eval_metric", params)


def resolve_key(prefix: str, home: str | os.PathLike | None = None) -> str:
    prefix = prefix.strip()
    if len(prefix) < 4:
        raise UserError(f"key {prefix!r} is too short: give at least 4 characters of a run key "
                        f"(see `tickets runs ls`)")
    found = store(home).frame("SELECT key FROM runs WHERE starts_with(key, ?) ORDER BY key", [prefix])
    keys = list(found["key"])
    if not keys:
        raise UserError(f"no run with key {prefix!r} in the store")
    if len(keys) > 1 and prefix not in keys:
        raise UserError(f"key prefix {prefix!r} is ambiguous: {', '.join(keys[:5])}")
    return prefix if prefix in keys else keys[0]


def show(key: str, home: str | os.PathLike | None = None) -> dict[str, "pd.DataFrame"]:
    key = resolve_key(key, home)
    s = store(home)
    return {
        "run": s.frame("SELECT * FROM runs WHERE key = ?", [key]),
        "result": s.frame("SELECT * FROM results WHERE key = ?", [key]),
        "epochs": s.frame("SELECT * EXCLUDE (key) FROM epochs WHERE key = ? ORDER BY phase, epoch", [key]),
        "layers": s.frame("SELECT * EXCLUDE (key) FROM layers WHERE key = ? ORDER BY idx", [key]),
    }


# ---------------------------------------------------------------------------------- exchange
def export(path: str | os.PathLike, home: str | os.PathLike | None = None) -> int:
    """Write every finished or imported run (run_results) to CSV or Parquet; returns the row count."""
    from registry.atomic import check_writable, write_atomic

    path = Path(path)
    fmt = _format(path)
    if fmt == "duckdb":
        raise UserError(f"{path}: export writes .csv or .parquet; to merge a whole store elsewhere, "
                        f"import its store.duckdb there")
    check_writable(path)
    frame = store(home).frame("SELECT * FROM run_results WHERE status IN ('done', 'imported') "
                              "ORDER BY dataset, model, method, \"check\", sparsity, seed, key")
    if fmt == "csv":
        from registry.textsafe import csv_frame

        data = csv_frame(frame).to_csv(index=False).encode()  # formula-like names get a leading '

    else:
        import io

        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        data = buffer.getvalue()
    try:
        write_atomic(path, lambda fh: fh.write(data))
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
    return len(frame)


def _format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix in (".duckdb", ".db"):
        return "duckdb"
    raise UserError(f"{path}: unknown file type {suffix or '(none)'!r}; use .csv, .parquet or .duckdb")


def _read_exchange(path: Path) -> "pd.DataFrame":
    import pandas as pd

    try:
        if _format(path) == "csv":
            from registry.textsafe import csv_uncell

            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
            frame.columns = [csv_uncell(c) for c in frame.columns]
            return frame.map(csv_uncell)  # what export's formula guard added, taken off
        return pd.read_parquet(path)
    except UserError:
        raise
    except Exception as exc:  # unreadable file: one line
        raise UserError(f"{path}: cannot read ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None


def _number(path: Path, row: int, name: str, value: Any, *, required: bool = True) -> float | None:
    if value is None or (isinstance(value, str) and value.strip() == "") or (
            isinstance(value, float) and math.isnan(value)):
        if required:
            raise UserError(f"{path} row {row}: {name} is empty")
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise UserError(f"{path} row {row}: {name} {value!r} is not a number") from None
    if not math.isfinite(number):
        raise UserError(f"{path} row {row}: {name} {value!r} is not a finite number")
    return number


def _flag(path: Path, row: int, value: Any) -> bool | None:
    """An optional true/false column: a bool, 0/1 or true/false; anything else is a mistake."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "1.0"):
        return True
    if text in ("false", "0", "0.0"):
        return False
    raise UserError(f"{path} row {row}: collapsed {value!r} is not true/false")


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def exchange_frames(frame: "pd.DataFrame", path: Path) -> dict[str, "pd.DataFrame"]:
    """Validate an exchange table and turn it into store rows (raises UserError, writes nothing)."""
    import pandas as pd

    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise UserError(f"{path}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}; "
                        f"required: {', '.join(REQUIRED)}")
    runs_rows, result_rows = [], []
    spec_columns = [c for c in frame.columns if c not in RESULT_COLUMNS and c not in BOOKKEEPING]
    for number, record in enumerate(frame.to_dict("records"), start=2 if _format(path) == "csv" else 1):
        record = {k: _plain(v) for k, v in record.items()}
        for name in ("dataset", "model", "method", "check"):
            if not isinstance(record[name], str) or not record[name].strip():
                raise UserError(f"{path} row {number}: {name} {record[name]!r} is not a name")
            record[name] = record[name].strip()
        variant = record.get("variant")
        record["variant"] = "" if variant is None else str(variant).strip()
        sparsity = _number(path, number, "sparsity", record["sparsity"])
        if not 0.0 <= sparsity < 1.0:
            raise UserError(f"{path} row {number}: sparsity {record['sparsity']!r} out of range; "
                            f"expected a fraction in [0, 1)")
        from registry.runcheck import KEY_WORDS, integer, is_key

        if record["seed"] is None or str(record["seed"]).strip() == "":
            raise UserError(f"{path} row {number}: seed is empty")
        seed = integer(record["seed"])  # exactly: through float() 2**53+1 became 2**53
        if seed is None or not 0 <= seed < 2 ** 63:
            raise UserError(f"{path} row {number}: seed {record['seed']!r} is not a non-negative integer below 2**63")
        metrics = {name: _number(path, number, name, record.get(name), required=name == "test_acc")
                   for name in RESULT_COLUMNS if name != "collapsed"}
        for name in ("test_acc", "best_test_acc"):
            if metrics[name] is not None and not 0.0 <= metrics[name] <= 100.0:
                raise UserError(f"{path} row {number}: {name} {record.get(name)!r} out of range; "
                                f"expected a percentage in [0, 100]")
        identity: dict[str, Any] = {}
        for name in spec_columns:
            value = record.get(name)
            if value is None or value == "":
                continue
            identity[name] = value
        identity.update({"sparsity": sparsity, "seed": int(seed)})
        spec_text = record.get("spec") if isinstance(record.get("spec"), str) and record.get("spec") else None
        key = record.get("key") if isinstance(record.get("key"), str) and record.get("key") else \
            key_of({"imported": identity})
        if not is_key(key):  # a key names a run directory: free text could name any path
            raise UserError(f"{path} row {number}: key {key!r} is not a run key ({KEY_WORDS})")
        collapsed = _flag(path, number, record.get("collapsed"))
        runs_rows.append({"key": key, "kind": record.get("kind") or "imported", "status": "imported",
                          "source": "imported", "dataset": record["dataset"], "model": record["model"],
                          "method": record["method"], "check": record["check"], "sparsity": sparsity,
                          "seed": int(seed), "variant": record["variant"], "spec": spec_text or json.dumps(identity, sort_keys=True, default=str),
                          "deps": "{}", "rundir": None, "studies": record.get("studies") or None})
        result_rows.append({"key": key, **metrics, "collapsed": None if collapsed is None else bool(collapsed)})
    return {"runs": pd.DataFrame(runs_rows, columns=COLUMNS["runs"]),
            "results": pd.DataFrame(result_rows, columns=COLUMNS["results"])}


def import_file(path: str | os.PathLike, home: str | os.PathLike | None = None) -> tuple[int, int]:
    """Merge an exchange file or another store into this one: (runs added, runs in the file).
    Runs already in the store keep their stored values."""
    path = Path(path)
    if not path.is_file():
        what = "not a regular file" if path.exists() else "no such file"
        raise UserError(f"{path}: {what}; import a .csv, .parquet or .duckdb file (`tickets store export` writes one)")
    target = store(home)
    if _format(path) == "duckdb":
        return _import_store(path, target)
    frames = exchange_frames(_read_exchange(path), path)
    if frames["runs"]["key"].duplicated().any():
        dup = frames["runs"].loc[frames["runs"]["key"].duplicated(), ["dataset", "model", "method", "check",
                                                                       "sparsity", "seed"]].iloc[0]
        raise UserError(f"{path}: two rows describe the same run ({', '.join(f'{k}={v}' for k, v in dup.items())}); "
                        f"add a column that tells them apart")
    return target.add_new_runs(frames), len(frames["runs"])


def _import_store(path: Path, target: Store) -> int:
    other = Store(path.parent, path=path)
    frames = {table: other.frame(f"SELECT * FROM {table}") for table in COLUMNS}
    runs = frames["runs"]
    runs = runs[runs["status"].isin(["done", "imported"])].copy()
    from registry.runcheck import KEY_WORDS, is_key

    bad = [k for k in runs["key"] if not is_key(k)]
    if bad:
        raise UserError(f"{path}: key {bad[0]!r} is not a run key ({KEY_WORDS}); nothing imported")
    bad_seeds = [s for s in runs["seed"].dropna() if not 0 <= int(s) < 2 ** 63]
    if bad_seeds:
        raise UserError(f"{path}: seed {bad_seeds[0]!r} is not a non-negative integer below 2**63; nothing imported")
    runs["status"] = "imported"
    runs["source"] = "imported"
    runs["rundir"] = None
    keys = set(runs["key"])
    frames = {t: (runs if t == "runs" else f[f["key"].isin(keys)]) for t, f in frames.items()}
    return target.add_new_runs(frames), len(frames["runs"])
