"""The store's tables, declared with SQLModel (natural string keys, 64-bit Double columns, no
sequences). Imported only where a table is created or its column list is needed: reads of an existing
store (registry.store) never pay SQLModel's import."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import BigInteger, Column, Double, Text
from sqlmodel import Field, SQLModel


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
    # the CPU's vector instruction set torch dispatched to ("AVX512", "AVX2", "DEFAULT"): the same build
    # on another CPU kind sums floats in another order (the quickstart's means moved by up to 0.4 pp)
    cpu_capability: Optional[str] = None
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
    # How many processes trained it and how they talked (registry/ranks.py): 1 / None for one.
    world_size: Optional[int] = None
    backend: Optional[str] = None


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



def ddl() -> dict[str, str]:
    """CREATE TABLE IF NOT EXISTS statements of every table, as DuckDB runs them (one line each)."""
    from sqlalchemy.schema import CreateTable

    from duckdb_sqlalchemy import Dialect

    dialect = Dialect()
    return {name: " ".join(str(CreateTable(model.__table__, if_not_exists=True).compile(dialect=dialect)).split())
            for name, model in TABLES.items()}


def columns_module() -> str:
    """The text of registry/columns.py: these tables' column names and DDL as plain data."""
    import textwrap

    lines = []
    for table, names in COLUMNS.items():
        body = ", ".join(f'"{c}"' for c in names)
        lines.append("\n".join(textwrap.wrap(body, 100, initial_indent=f'    "{table}": [',
                                             subsequent_indent=" " * 8)) + "],")
    statements = []
    for table, text in ddl().items():
        pieces = textwrap.wrap(text, 96, drop_whitespace=False)
        statements.append(f'    "{table}": (\n' + "\n".join(f"        {piece!r}" for piece in pieces) + "),")
    statements = "\n".join(statements)
    return ('"""The store\'s column names and CREATE TABLE statements, table by table, as plain data: what\n'
            'reading code and schema creation need without importing SQLModel. Generated from registry.schema\n'
            '(`python -c "from registry import schema; schema.write_columns_module()"`);\n'
            'tests/test_cli_latency.py checks the two agree."""\n\n'
            "COLUMNS: dict[str, list[str]] = {\n" + "\n".join(lines) + "\n}\n\n"
            "DDL: dict[str, str] = {\n" + statements + "\n}\n")


def write_columns_module() -> None:
    from pathlib import Path

    Path(__file__).with_name("columns.py").write_text(columns_module())
