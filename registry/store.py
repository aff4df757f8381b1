"""The results store: an index over run directories, kept in one DuckDB file.

Tables are declared with SQLModel (natural string keys, 64-bit Double columns, no sequences); bulk
writes go through DuckDB's own connection (register a pandas frame, INSERT ... SELECT), which is
two orders of magnitude faster than the ORM. DuckDB allows one read-write process per file and
refuses even read-only opens while it is held, so (DESIGN.md §3):

- writers hold `<home>/store.lock` (fcntl) around open -> write -> close -> publish, and keep that short;
- readers open the snapshot each write session publishes, `store.read.duckdb`, read-only, so they
  never wait for a writer nor hold one up (registry.snapshot); they retry briefly on "Could not set
  lock" only in a home no writer has published yet;
- the run directories under `<home>/runs/` stay the source of truth; the store can be rebuilt.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping, NamedTuple, Sequence

from registry.errors import UserError
from registry.snapshot import mark_writing, publish, readable, snapshot_path, unmark_writing

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

STORE_FILE = "store.duckdb"
LOCK_FILE = "store.lock"
RUNS_DIR = "runs"
LOCK_RETRY_SECONDS = float(os.environ.get("TICKETS_STORE_RETRY", "60"))

# The tables (SQLModel declarations) live in registry.schema, imported on first use: SQLModel and
# SQLAlchemy cost ~0.5 s to import and a read of an existing store needs neither.
_SCHEMA_NAMES = ("TABLES", "COLUMNS", "Run", "Epoch", "Layer", "Result", "Eval")


def __getattr__(name: str) -> Any:
    if name in _SCHEMA_NAMES:
        from registry import schema

        return getattr(schema, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# The one view reports read (docs/ARCHITECTURE.md, "Store reads").
RUN_RESULTS_VIEW = """
CREATE OR REPLACE VIEW run_results AS
SELECT r.key, r.kind, r.status, r.source, r.dataset, r.model, r.method, r."check", r.sparsity,
       r.seed, coalesce(r.variant, '') AS variant, s.test_acc, s.best_test_acc, s.achieved_sparsity,
       s.collapsed, r.spec, coalesce(r.studies, '') AS studies, s.params, s.flops, s.dense_params, s.dense_flops,
       s.val_selected_test_acc, s.test_top5, r.code_version, r.git_diff_hash, r.env_hash, r.data_fingerprint
FROM runs r LEFT JOIN results s ON s.key = r.key
"""

# Evaluation metrics next to the evaluated run's columns: one row per run x evaluation x metric.
# `value` is the metric; `eval_key` the evaluation stage. Reports with `eval=` read this view.
EVAL_RESULTS_VIEW = """
CREATE OR REPLACE VIEW eval_results AS
SELECT e.key AS eval_key, e.eval, e.metric AS eval_metric, e.value, rr.*
FROM evals e JOIN run_results rr ON rr.key = e.run_key
"""


class Rows(NamedTuple):
    """A query's column names and row tuples, as DuckDB returns them."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]

    @property
    def empty(self) -> bool:
        return not self.rows

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row)) for row in self.rows]

    def __len__(self) -> int:
        return len(self.rows)


def _is_lock_error(exc: BaseException) -> bool:
    text = str(exc)
    return "Could not set lock" in text or "Conflicting lock" in text


def _not_duckdb(path: Path, exc: BaseException) -> UserError:
    return UserError(f"{path} is not a DuckDB database ({str(exc).splitlines()[0]})")


class Store:
    """The store under a tickets home: `<home>/store.duckdb`, `<home>/runs/`, `<home>/store.lock`."""

    def __init__(self, home: str | os.PathLike, path: str | os.PathLike | None = None):
        self.home = Path(home)
        self.path = Path(path) if path is not None else self.home / STORE_FILE
        self.lock_path = self.home / LOCK_FILE if path is None else self.path.with_suffix(".lock")

    @property
    def runs_dir(self) -> Path:
        return self.home / RUNS_DIR

    def rundir(self, key: str) -> Path:
        return self.runs_dir / key

    def exists(self) -> bool:
        return self.path.exists()

    # ------------------------------------------------------------------ connections
    def _connect(self, read_only: bool, config: Mapping[str, Any] | None = None, path: Path | None = None):
        import duckdb

        path = path or self.path

        start = time.monotonic()
        deadline = start + LOCK_RETRY_SECONDS
        delay = 0.02
        told = False
        while True:
            try:
                return duckdb.connect(str(path), read_only=read_only, config=dict(config or {}))
            except duckdb.IOException as exc:
                if _is_lock_error(exc) and time.monotonic() < deadline:
                    if not told and time.monotonic() - start > 3:  # say why nothing seems to happen
                        from registry.storebusy import holder_of

                        told = True
                        warnings.warn(f"{path} is held by {holder_of(str(exc))}; retrying for up to "
                                      f"{LOCK_RETRY_SECONDS:g} s", stacklevel=2)
                    time.sleep(delay)
                    delay = min(delay * 1.5, 0.25)
                    continue
                if _is_lock_error(exc):  # one line naming the holder, not a lock traceback
                    from registry.storebusy import StoreBusy, holder_of

                    raise StoreBusy(path, holder_of(str(exc)), read_only) from None
                if "not a valid DuckDB database" in str(exc) or "database file" in str(exc).lower():
                    raise _not_duckdb(path, exc) from None
                raise
            except duckdb.ConnectionException as exc:  # this process holds it open with other settings
                raise UserError(f"{path} is already open in this process with other settings "
                                f"(a duckdb connection of your own?); close it first "
                                f"({str(exc).splitlines()[0]})") from None
            except duckdb.Error as exc:
                raise _not_duckdb(path, exc) from None

    @contextlib.contextmanager
    def reader(self, locked: bool = False, limits: Any = None) -> Iterator[Any]:
        """A read-only DuckDB connection (an empty in-memory schema when no store exists yet);
        `locked`: also no file/network access, no extension loading, memory and thread caps
        (`limits`, registry.sqllimits), settings frozen (user SQL)."""
        import duckdb

        from registry.sqlguard import LOCKED
        from registry.sqllimits import SqlLimits

        config = {**(limits or SqlLimits.from_env()).settings(), **LOCKED} if locked else {}
        source = readable(self.path, self.lock_path)  # the writer's read snapshot: no reader waits for a writer
        if source is None:
            con = duckdb.connect(":memory:", config=dict(config))
            _create_schema(con, light=True)
        else:
            con = self._connect(read_only=True, config=config, path=source)
            if _lacks_columns(con):
                # a store from an older version: a reader's queries name columns it lacks, so upgrade it
                # once, through a write session (which adds them and publishes the snapshot), then read
                con.close()
                self._upgrade()
                con = self._connect(read_only=True, config=config, path=readable(self.path, self.lock_path))
        try:
            yield con
        finally:
            con.close()

    def _upgrade(self) -> None:
        try:
            with self.writer():
                pass
        except OSError as exc:
            raise UserError(f"{self.path} was written by an older tickets and needs its new columns, but it "
                            f"cannot be written here ({exc.strerror or exc}); run `tickets store ingest` "
                            f"where it can be") from None

    @contextlib.contextmanager
    def writer(self) -> Iterator[Any]:
        """Short write session: file lock -> open -> (schema) -> yield -> commit -> close."""
        self.home.mkdir(parents=True, exist_ok=True)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.lock_path, "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                mark_writing(lock)
                # a store temporary lives only while its creator holds this lock: any seen now is
                # a killed creator's leftover
                for name in (self.path.name, snapshot_path(self.path).name):
                    for leftover in self.path.parent.glob(f".{name}.*.tmp*"):
                        leftover.unlink(missing_ok=True)
                if not self.path.exists():
                    self._create_file()
                con = self._connect(read_only=False)
                try:
                    _create_schema(con)
                    con.execute("BEGIN TRANSACTION")
                    try:
                        yield con
                    except BaseException:
                        con.execute("ROLLBACK")
                        raise
                    con.execute("COMMIT")
                    con.execute("CHECKPOINT")  # the whole store in the file the snapshot copies
                finally:
                    con.close()
                    # still under the lock, so snapshots follow write sessions in order; after a
                    # rollback too (opening may have touched the file; the copy is the committed store)
                    publish(self.path)
            finally:
                unmark_writing(lock)
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _create_file(self) -> None:
        """Publish a new store whole: schema built in a temporary file, then renamed into place,
        so a process killed while creating it never leaves a database without tables."""
        import duckdb

        from registry.sweep import writer_tag

        tmp = self.path.with_name(f".{self.path.name}.{writer_tag()}.tmp")
        con = duckdb.connect(str(tmp))
        try:
            _create_schema(con)
            con.execute("CHECKPOINT")
        finally:
            con.close()
        os.replace(tmp, self.path)

    def engine(self, read_only: bool = True):
        """A SQLAlchemy engine (duckdb-sqlalchemy) for SQLModel reads; dispose it when done."""
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        path = (readable(self.path, self.lock_path) or self.path) if read_only else self.path
        return create_engine(f"duckdb:///{path}", poolclass=NullPool,
                             connect_args={"read_only": read_only})

    # ------------------------------------------------------------------ reads
    def frame(self, sql: Any, params: Sequence[Any] | Mapping[str, Any] | None = None, *,
              locked: bool = False, limits: Any = None, rows: bool = False) -> "pd.DataFrame | Rows":
        """Run a read-only query (text or a parsed duckdb.Statement) and return a pandas DataFrame;
        `locked` runs it on a locked-down connection under time/memory/thread limits (user SQL:
        registry.sqlguard, registry.sqllimits); `rows` returns plain `Rows` instead (a terminal table
        needs no pandas, whose import costs ~0.5 s)."""
        import duckdb

        from registry.sqlguard import refusal
        from registry.sqllimits import SqlLimits, run_limited

        limits = (limits or SqlLimits.from_env()) if locked else None
        with self.reader(locked=locked, limits=limits) as con, warnings.catch_warnings():
            # duckdb 1.5's own DataFrame conversion uses drop(inplace=True), deprecated in pandas 3
            warnings.filterwarnings("ignore", message="The inplace keyword in DataFrame.drop")
            if rows and params and isinstance(sql, str):  # literals: binding would import pandas
                from registry.literals import inline

                written = inline(sql, params if not isinstance(params, Mapping) else ())
                if written is not None:
                    sql, params = written, None

            def run():
                result = con.execute(sql, params) if params is not None else con.execute(sql)
                if rows:
                    return Rows(tuple(d[0] for d in result.description or ()), result.fetchall())
                return result.df()

            try:
                return run_limited(con, run, limits) if locked else run()
            except duckdb.Error as exc:
                raise refusal(exc) from None

    def statuses(self, keys: Sequence[str]) -> dict[str, str]:
        """{key: status} for those of `keys` present in the store (a semi-join on a registered frame)."""
        if not keys or not self.path.exists():
            return {}
        import pandas as pd

        with self.reader() as con:
            con.register("candidates", pd.DataFrame({"key": list(keys)}))
            rows = con.execute("SELECT r.key, r.status FROM runs r JOIN candidates c ON c.key = r.key").fetchall()
        return dict(rows)

    def index(self, keys: Sequence[str]) -> dict[str, tuple[str, int | None, int | None, str | None]]:
        """{key: (status, result_bytes, result_mtime_ns, studies)} for those of `keys` in the store:
        what planning needs to trust a stored run without reading its files, and which studies
        asked for it (registry.membership), in one semi-join."""
        if not keys or not self.path.exists():
            return {}
        import pandas as pd

        with self.reader() as con:
            con.register("candidates", pd.DataFrame({"key": list(keys)}))
            rows = con.execute("SELECT r.key, r.status, r.result_bytes, r.result_mtime_ns, r.studies FROM runs r "
                               "JOIN candidates c ON c.key = r.key").fetchall()
        return {key: tuple(rest) for key, *rest in rows}

    def forget(self, keys: Sequence[str]) -> int:
        """Delete every row of these runs (all tables) in one short write session."""
        import pandas as pd

        if not keys:
            return 0
        with self.writer() as con:
            con.register("gone", pd.DataFrame({"key": list(keys)}))
            try:
                n = con.execute("SELECT count(*) FROM runs WHERE key IN (SELECT key FROM gone)").fetchone()[0]
                from registry.schema import TABLES

                for table in TABLES:
                    con.execute(f"DELETE FROM {table} WHERE key IN (SELECT key FROM gone)")
            finally:
                con.unregister("gone")
        return int(n)

    # ------------------------------------------------------------------ writes
    def replace_runs(self, frames: Mapping[str, "pd.DataFrame"]) -> int:
        """Replace every row of the runs in `frames["runs"]` (all four tables) in one transaction."""
        runs = frames.get("runs")
        if runs is None or runs.empty:
            return 0
        with self.writer() as con:
            replace_frames(con, frames)
        return len(runs)

    def add_new_runs(self, frames: Mapping[str, "pd.DataFrame"]) -> int:
        """Insert runs whose key is not in the store yet (an anti-join); existing keys are kept."""
        runs = frames.get("runs")
        if runs is None or runs.empty:
            return 0
        with self.writer() as con:
            return insert_new_frames(con, frames)


def _create_schema(con: Any, light: bool = False) -> None:
    """Tables (added columns included) and views. Writers go through the SQLModel declarations
    (`_migrate_schema`), the source of truth; `light` (the empty in-memory schema a read of a missing
    store gets) runs registry.columns' plain DDL instead, so that read imports no SQLAlchemy."""
    if not light:
        _migrate_schema(con)
        return
    from registry.columns import DDL

    for statement in DDL.values():
        con.execute(statement)
    if _lacks_columns(con):
        _migrate_schema(con)
    con.execute(RUN_RESULTS_VIEW)
    con.execute(EVAL_RESULTS_VIEW)


def _lacks_columns(con: Any) -> bool:
    """Whether the store misses a table or column this version declares (registry.columns, no
    SQLAlchemy import)."""
    from registry.columns import COLUMNS

    have: dict[str, set[str]] = {}
    for table, column in con.execute("SELECT table_name, column_name FROM information_schema.columns "
                                     "WHERE table_schema = current_schema()").fetchall():
        have.setdefault(table, set()).add(column)
    return any(set(names) - have.get(table, set()) for table, names in COLUMNS.items())


def _migrate_schema(con: Any) -> None:
    from sqlalchemy.schema import CreateTable

    from duckdb_sqlalchemy import Dialect
    from registry.schema import TABLES

    dialect = Dialect()
    for model in TABLES.values():
        ddl = str(CreateTable(model.__table__, if_not_exists=True).compile(dialect=dialect))
        con.execute(ddl)
        # a store from an older version: add the columns it lacks (nullable, so old rows stay valid)
        have = {row[0] for row in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [model.__tablename__]).fetchall()}
        for column in model.__table__.columns:
            if column.name not in have:
                kind = column.type.compile(dialect=dialect)
                con.execute(f'ALTER TABLE {model.__tablename__} ADD COLUMN "{column.name}" {kind}')
    con.execute(RUN_RESULTS_VIEW)
    con.execute(EVAL_RESULTS_VIEW)


def _select_list(table: str) -> str:
    from registry.schema import COLUMNS

    return ", ".join(f'"{c}"' for c in COLUMNS[table])


_DEFAULTS = {("runs", "source"): "local"}


def _normalise(table: str, frame: "pd.DataFrame") -> "pd.DataFrame":
    """Exactly the table's columns, in order (missing ones as nulls)."""
    from registry.schema import COLUMNS

    frame = frame.copy()
    for col in COLUMNS[table]:
        if col not in frame.columns:
            frame[col] = _DEFAULTS.get((table, col))
    return frame[COLUMNS[table]]


def replace_frames(con: Any, frames: Mapping[str, "pd.DataFrame"]) -> None:
    from registry.schema import TABLES

    keys = _normalise("runs", frames["runs"])[["key"]]
    con.register("batch_keys", keys)
    try:
        for table in TABLES:
            con.execute(f"DELETE FROM {table} WHERE key IN (SELECT key FROM batch_keys)")
        for table in TABLES:
            frame = frames.get(table)
            if frame is None or frame.empty:
                continue
            con.register("batch", _normalise(table, frame))
            try:
                con.execute(f"INSERT INTO {table} ({_select_list(table)}) SELECT {_select_list(table)} FROM batch")
            finally:
                con.unregister("batch")
    finally:
        con.unregister("batch_keys")


def insert_new_frames(con: Any, frames: Mapping[str, "pd.DataFrame"]) -> int:
    from registry.schema import TABLES

    runs = _normalise("runs", frames["runs"]).drop_duplicates("key")
    con.register("batch_runs", runs)
    try:
        new = con.execute("SELECT b.key FROM batch_runs b ANTI JOIN runs r ON r.key = b.key").df()
        con.register("new_keys", new)
        for table in TABLES:
            frame = runs if table == "runs" else frames.get(table)
            if frame is None or frame.empty:
                continue
            con.register("batch", _normalise(table, frame))
            try:
                con.execute(f"INSERT INTO {table} ({_select_list(table)}) SELECT {_select_list(table)} "
                            f"FROM batch WHERE key IN (SELECT key FROM new_keys)")
            finally:
                con.unregister("batch")
        con.unregister("new_keys")
        return len(new)
    finally:
        con.unregister("batch_runs")
