"""Pin the behaviour of the DuckDB SQLAlchemy dialect the store relies on (DESIGN.md §3):
integer columns without SERIAL, 64-bit floats that round-trip exactly, and working reflection."""
from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, select

from registry.store import COLUMNS, Epoch, Layer, Result, Run, Store


def _types(store: Store, table: str) -> dict[str, str]:
    frame = store.frame(f"DESCRIBE {table}")
    return dict(zip(frame["column_name"], frame["column_type"]))


def test_schema_types_are_pinned(tmp_path):
    store = Store(tmp_path)
    with store.writer():
        pass
    runs = _types(store, "runs")
    assert runs["key"] == "VARCHAR" and runs["seed"] == "BIGINT" and runs["sparsity"] == "DOUBLE"
    assert _types(store, "layers")["weights"] == "BIGINT"
    assert _types(store, "epochs")["test_acc"] == "DOUBLE"
    assert _types(store, "results")["collapsed"] == "BOOLEAN"
    # natural keys, no sequences
    assert store.frame("SELECT count(*) AS n FROM duckdb_sequences()")["n"][0] == 0
    pk = store.frame("SELECT constraint_column_names FROM duckdb_constraints() "
                     "WHERE table_name = 'epochs' AND constraint_type = 'PRIMARY KEY'")
    assert list(pk.iloc[0, 0]) == ["key", "phase", "epoch"]


def test_doubles_round_trip_exactly_through_bulk_insert_and_orm(tmp_path):
    import pandas as pd

    store = Store(tmp_path)
    values = [0.1 + 0.2, 1 / 3, 93.12345678901234, 2.0 ** -40, 1e300]
    runs = pd.DataFrame({"key": [f"k{i}" for i in range(len(values))], "kind": "ticket", "status": "done",
                         "sparsity": values, "seed": list(range(len(values)))})
    results = pd.DataFrame({"key": runs["key"], "test_acc": values})
    store.replace_runs({"runs": runs, "results": results})
    back = store.frame("SELECT key, sparsity, seed FROM runs ORDER BY key")
    assert list(back["sparsity"]) == values
    assert list(back["seed"]) == list(range(len(values)))
    engine = store.engine(read_only=True)
    try:
        with Session(engine) as session:
            rows = session.exec(select(Result).order_by(Result.key)).all()
            assert [r.test_acc for r in rows] == values
            run = session.exec(select(Run).where(Run.key == "k2")).one()
            assert run.seed == 2 and isinstance(run.seed, int) and run.source == "local"
    finally:
        engine.dispose()


def test_reflection_sees_every_table_and_column(tmp_path):
    store = Store(tmp_path)
    with store.writer():
        pass
    engine = store.engine(read_only=True)
    try:
        inspector = sa.inspect(engine)
        assert {"runs", "epochs", "layers", "results"} <= set(inspector.get_table_names())
        for name, model in (("runs", Run), ("epochs", Epoch), ("layers", Layer), ("results", Result)):
            reflected = {c["name"]: c["type"] for c in inspector.get_columns(name)}
            assert list(reflected) == COLUMNS[name]
        layers = {c["name"]: c["type"] for c in inspector.get_columns("layers")}
        assert "DOUBLE" in str(layers["keep_ratio"]).upper() and "BIGINT" in str(layers["weights"]).upper()
        assert "run_results" in inspector.get_view_names()
    finally:
        engine.dispose()
