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
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Optional, Sequence

from sqlalchemy import BigInteger, Column, Double, Text
from sqlmodel import Field, SQLModel

from registry.errors import UserError
from registry.snapshot import mark_writing, publish, readable, snapshot_path, unmark_writing

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

STORE_FILE = "store.duckdb"
LOCK_FILE = "store.lock"
RUNS_DIR = "runs"
LOCK_RETRY_SECONDS = float(os.environ.get("TICKETS_STORE_RETRY", "60"))


def _double(**kw: Any) -> Any:
    return Field(default=None, sa_column=Column(Double, **kw))


def _text() -> Any:
    return Field(default=None, sa_column=Column(Text))


class Run(SQLModel, table=True):
    """One stage that ran here (or a result imported from elsewhere)."""

    __tablename__ = "runs"
    key: str = Field(primary_key=True)
    kind: str
    status: str  # done | failed | imported
    source: str = "local"  # local | imported
    dataset: Optional[str] = None
    model: Optional[str] = None
    method: Optional[str] = None
    check: Optional[str] = None
    sparsity: Optional[float] = _double()
    seed: Optional[int] = Field(default=None, sa_type=BigInteger)  # any non-negative int a study may use
    variant: Optional[str] = None  # non-default options in short form; "" = the domain's defaults
    spec: Optional[str] = _text()  # full resolved spec, JSON
    deps: Optional[str] = _text()  # {role: key}, JSON
    rundir: Optional[str] = None
    host: Optional[str] = None
    started: Optional[datetime] = None
    finished: Optional[datetime] = None
    code_version: Optional[str] = None
    error: Optional[str] = _text()
    traceback: Optional[str] = _text()
    # result.json as ingested (size, mtime): planning notices a file changed since with one stat
    result_bytes: Optional[int] = Field(default=None, sa_column=Column(BigInteger))
    result_mtime_ns: Optional[int] = Field(default=None, sa_column=Column(BigInteger))
    studies: Optional[str] = _text()  # the studies that asked for this run, comma-joined (registry.membership)
    # What the run computed on (meta.json, from the domain's runtime_info): "cpu" / "cuda:1", the
    # GPU's name, torch and CUDA runtime versions, torch's intra-op threads.
    device: Optional[str] = None
    gpu_model: Optional[str] = None
    torch_version: Optional[str] = None
    cuda_version: Optional[str] = None
    threads: Optional[int] = None
    # Provenance (meta.json; registry/provenance.py): the checkout's commit, whether it had local
    # changes and their hash, the installed packages' hash, torch's full build string, the data's
    # fingerprint, and the domain version the stage was made under (1 unless its identity says).
    git_commit: Optional[str] = None
    git_dirty: Optional[bool] = None
    git_diff_hash: Optional[str] = None
    env_hash: Optional[str] = None
    torch_build: Optional[str] = None
    data_fingerprint: Optional[str] = None
    domain_version: Optional[int] = None


class Epoch(SQLModel, table=True):
    __tablename__ = "epochs"
    key: str = Field(primary_key=True)
    phase: str = Field(primary_key=True)
    epoch: int = Field(primary_key=True)
    train_loss: Optional[float] = _double()
    train_acc: Optional[float] = _double()
    test_loss: Optional[float] = _double()
    test_acc: Optional[float] = _double()
    lr: Optional[float] = _double()
    seconds: Optional[float] = _double()
    test_top5: Optional[float] = _double()  # top-5 test accuracy (percent); NULL for runs before it


class Layer(SQLModel, table=True):
    __tablename__ = "layers"
    key: str = Field(primary_key=True)
    idx: int = Field(primary_key=True)
    layer: str
    shape: Optional[str] = None  # JSON list
    weights: Optional[int] = Field(default=None, sa_column=Column(BigInteger))
    kept: Optional[int] = Field(default=None, sa_column=Column(BigInteger))
    keep_ratio: Optional[float] = _double()


class Result(SQLModel, table=True):
    __tablename__ = "results"
    key: str = Field(primary_key=True)
    test_acc: Optional[float] = _double()
    best_test_acc: Optional[float] = _double()
    train_loss: Optional[float] = _double()
    test_loss: Optional[float] = _double()
    achieved_sparsity: Optional[float] = _double()
    collapsed: Optional[bool] = None
    seconds: Optional[float] = _double()
    extra: Optional[str] = _text()  # other result fields, JSON
    # model size of the network as trained (structured or masked) and of the same network unpruned:
    # all parameters less pruned ones; multiply-accumulates of conv + linear layers on one input
    params: Optional[int] = Field(default=None, sa_column=Column(BigInteger))
    flops: Optional[int] = Field(default=None, sa_column=Column(BigInteger))
    dense_params: Optional[int] = Field(default=None, sa_column=Column(BigInteger))
    dense_flops: Optional[int] = Field(default=None, sa_column=Column(BigInteger))
    # test accuracy at the epoch of best held-out validation accuracy (runs with a val_split)
    val_selected_test_acc: Optional[float] = _double()
    test_top5: Optional[float] = _double()  # final top-5 test accuracy (percent); NULL before it was recorded


class Eval(SQLModel, table=True):
    """One metric of one evaluation stage (`key`) of a trained run (`run_key`): e.g.
    (key, run_key, "calibration", "ece", 0.031). Filled from an eval stage's result.json "evals"."""

    __tablename__ = "evals"
    key: str = Field(primary_key=True)
    run_key: str
    eval: str = Field(primary_key=True)
    metric: str = Field(primary_key=True)
    value: Optional[float] = _double()


TABLES = {"runs": Run, "epochs": Epoch, "layers": Layer, "results": Result, "evals": Eval}
# Explicit column lists, in table order, for every bulk insert.
COLUMNS = {name: [c.name for c in model.__table__.columns] for name, model in TABLES.items()}

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
            _create_schema(con)
        else:
            con = self._connect(read_only=True, config=config, path=source)
        try:
            yield con
        finally:
            con.close()

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
              locked: bool = False, limits: Any = None) -> "pd.DataFrame":
        """Run a read-only query (text or a parsed duckdb.Statement) and return a pandas DataFrame;
        `locked` runs it on a locked-down connection under time/memory/thread limits (user SQL:
        registry.sqlguard, registry.sqllimits)."""
        import duckdb

        from registry.sqlguard import refusal
        from registry.sqllimits import SqlLimits, run_limited

        limits = (limits or SqlLimits.from_env()) if locked else None
        with self.reader(locked=locked, limits=limits) as con, warnings.catch_warnings():
            # duckdb 1.5's own DataFrame conversion uses drop(inplace=True), deprecated in pandas 3
            warnings.filterwarnings("ignore", message="The inplace keyword in DataFrame.drop")

            def run():
                return con.execute(sql, params).df() if params is not None else con.execute(sql).df()

            try:
                return run_limited(con, run, limits) if locked else run()
            except duckdb.Error as exc:
                raise refusal(exc) from None

    def statuses(self, keys: Sequence[str]) -> dict[str, str]:
        """{key: status} for those of `keys` present in the store (a semi-join on a registered frame)."""
        import pandas as pd

        if not keys or not self.path.exists():
            return {}
        with self.reader() as con:
            con.register("candidates", pd.DataFrame({"key": list(keys)}))
            rows = con.execute("SELECT r.key, r.status FROM runs r JOIN candidates c ON c.key = r.key").fetchall()
        return dict(rows)

    def index(self, keys: Sequence[str]) -> dict[str, tuple[str, int | None, int | None, str | None]]:
        """{key: (status, result_bytes, result_mtime_ns, studies)} for those of `keys` in the store:
        what planning needs to trust a stored run without reading its files, and which studies
        asked for it (registry.membership), in one semi-join."""
        import pandas as pd

        if not keys or not self.path.exists():
            return {}
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


def _create_schema(con: Any) -> None:
    from sqlalchemy.schema import CreateTable

    from duckdb_sqlalchemy import Dialect

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
    return ", ".join(f'"{c}"' for c in COLUMNS[table])


_DEFAULTS = {("runs", "source"): "local"}


def _normalise(table: str, frame: "pd.DataFrame") -> "pd.DataFrame":
    """Exactly the table's columns, in order (missing ones as nulls)."""
    frame = frame.copy()
    for col in COLUMNS[table]:
        if col not in frame.columns:
            frame[col] = _DEFAULTS.get((table, col))
    return frame[COLUMNS[table]]


def replace_frames(con: Any, frames: Mapping[str, "pd.DataFrame"]) -> None:
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
