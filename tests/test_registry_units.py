"""Leases, ingest, fast stage keys, the exchange format and bad inputs (one line, store unchanged)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from registry import lease
from registry.atomic import append_jsonl, write_json
from registry.domain import Stage
from registry.errors import UserError
from registry.ingest import ingest
from registry.identity import canonical_json, to_plain
from registry.store import Store
from tickets.cli.main import cli

TESTS = Path(__file__).parent


def test_lease_is_exclusive_and_stale_leases_are_reclaimed(tmp_path, monkeypatch):
    first = lease.acquire(tmp_path)
    assert first is not None and lease.acquire(tmp_path) is None
    assert lease.heartbeat(first)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    info = json.loads((tmp_path / "lease.json").read_text())
    (tmp_path / "lease.json").write_text(json.dumps({**info, "pid": int(dead.stdout)}))  # holder died
    second = lease.acquire(tmp_path)
    assert second is not None and not lease.heartbeat(first)  # the old holder learns it lost the lease
    monkeypatch.setenv("TICKETS_LEASE_TIMEOUT", "0")  # heartbeat too old
    third = lease.acquire(tmp_path)
    assert third is not None
    lease.release(second)  # not the holder: no effect
    assert lease.read_lease(tmp_path)["token"] == third.token
    lease.release(third)
    assert not (tmp_path / "lease.json").exists()


def test_plain_json_fast_path_matches_generic_canonical_form():
    identities = [{"kind": "pretrain", "dataset": "c", "seed": 3, "train": {"epochs": 2, "lr": 0.05,
                                                                           "milestones": [1, 2]}},
                  {"kind": "ticket", "method": {"name": "snip", "k": (1, 2)}, "sparsity": 0.95, "x": None,
                   "flag": True, "deps": {"pretrain": "abc"}}]
    for identity in identities:
        generic = json.dumps(to_plain(identity), sort_keys=True, separators=(",", ":"))
        assert canonical_json(identity) == generic
    with pytest.raises(ValueError):
        Stage("ticket", {"sparsity": float("nan")}, {}, {}).key


def _finished_run(home: Path, key: str, result: str | None = None) -> Path:
    rundir = home / "runs" / key
    write_json(rundir / "stage.json", {"key": key, "kind": "ticket", "spec": {"a": 1}, "deps": {},
                                       "columns": {"dataset": "d1", "model": "m1", "method": "rand",
                                                   "check": "none", "sparsity": 0.9, "seed": 0}})
    for epoch in (1, 2, 2):  # a resumed run repeats epoch 2: the last line wins
        append_jsonl(rundir / "metrics.jsonl", {"phase": "ticket", "epoch": epoch, "test_acc": 10.0 * epoch})
    write_json(rundir / "layers.json", [{"layer": "l0", "shape": [2, 2], "weights": 4, "kept": 1, "keep_ratio": 0.25}])
    (rundir / "result.json").write_text(result or json.dumps({"test_acc": 20.0, "best_test_acc": 20.0,
                                                              "collapsed": False, "note": "x"}))
    return rundir


def test_ingest_is_idempotent_and_skips_corrupt_runs(tmp_path):
    store = Store(tmp_path)
    good = _finished_run(tmp_path, "good")
    bad = _finished_run(tmp_path, "bad", result='{"test_acc": 1')
    n, problems = ingest(store, [good, bad])
    assert n == 1 and len(problems) == 1 and "corrupt result.json" in problems[0] and "bad" in problems[0]
    snapshot = {t: store.frame(f"SELECT * FROM {t} ORDER BY ALL") for t in ("runs", "epochs", "layers", "results")}
    ingest(store, [good, bad])
    for table, frame in snapshot.items():
        assert store.frame(f"SELECT * FROM {table} ORDER BY ALL").drop(columns=[], errors="ignore").equals(frame)
    assert list(snapshot["epochs"]["test_acc"]) == [10.0, 20.0]
    assert json.loads(snapshot["results"]["extra"][0]) == {"note": "x"}
    out = CliRunner().invoke(cli, ["--home", str(tmp_path), "store", "ingest"])
    assert out.exit_code == 1 and "corrupt result.json" in out.output


@pytest.mark.parametrize("file, content, message", [
    ("layers.json", "[1, 2]", "malformed run files (AttributeError"),
    ("layers.json", '[{"layer": "a", "weights": "abc"}]', "malformed run files (ValueError"),
    ("result.json", '{"test_acc": NaN}', "test_acc nan is not a finite number"),
    ("result.json", '{"test_acc": "abc"}', "test_acc 'abc' is not a finite number"),
    ("result.json", '{"test_acc": 50.0, "collapsed": "false"}', "collapsed 'false' is not true/false"),
])
def test_a_malformed_run_is_reported_and_the_rest_of_the_batch_ingested(tmp_path, file, content, message):
    store = Store(tmp_path)
    good, bad = _finished_run(tmp_path, "good"), _finished_run(tmp_path, "bad")
    (bad / file).write_text(content)
    n, problems = ingest(store, [good, bad])
    assert n == 1 and len(problems) == 1 and message in problems[0] and "bad" in problems[0]
    assert list(store.frame("SELECT key FROM runs")["key"]) == ["good"]


GOOD = "600d600d600d600d"  # a run key as the project makes them (16 hex digits): imports refuse others


def _seed_store(home: Path) -> Store:
    store = Store(home)
    ingest(store, [_finished_run(home, GOOD)])
    return store


def _snapshot(store: Store) -> pd.DataFrame:
    return store.frame("SELECT * FROM run_results ORDER BY key")


def test_export_import_round_trip(tmp_path):
    source = _seed_store(tmp_path / "a")
    runner = CliRunner()
    for suffix in ("csv", "parquet"):
        path = tmp_path / f"out.{suffix}"
        out = runner.invoke(cli, ["--home", str(tmp_path / "a"), "store", "export", str(path)])
        assert out.exit_code == 0 and "exported 1 runs" in out.output
        target = tmp_path / f"b-{suffix}"
        out = runner.invoke(cli, ["--home", str(target), "store", "import", str(path)])
        assert out.exit_code == 0 and "imported 1 new runs" in out.output, out.output
        out = runner.invoke(cli, ["--home", str(target), "store", "import", str(path)])
        assert "imported 0 new runs" in out.output
        got = Store(target).frame("SELECT key, dataset, method, sparsity, seed, test_acc, status, source FROM run_results")
        assert got.to_dict("records") == [{"key": GOOD, "dataset": "d1", "method": "rand", "sparsity": 0.9,
                                           "seed": 0, "test_acc": 20.0, "status": "imported", "source": "imported"}]
    # a paper's numbers, keyed by row identity; another store file merges too
    paper = tmp_path / "paper.csv"
    paper.write_text("dataset,model,method,check,sparsity,seed,test_acc,paper\n"
                     "cifar10,vgg19,snip,none,0.9,0,93.6,su2020\ncifar10,vgg19,snip,none,0.9,1,93.4,su2020\n")
    out = runner.invoke(cli, ["--home", str(tmp_path / "a"), "store", "import", str(paper)])
    assert out.exit_code == 0 and "imported 2 new runs" in out.output
    out = runner.invoke(cli, ["--home", str(tmp_path / "c"), "store", "import", str(source.path)])
    assert out.exit_code == 0 and "imported 3 new runs" in out.output


BAD_STUDIES = {
    "syntax": ("study = Study('x',\n", r"x\.py:1: '\(' was never closed"),
    "unknown": ("study = Study('x', Grid(datasets=['nope'], models=['m1'], methods=['rand'], sparsities=[0.5]), "
                "domain='fake_domain:DOMAIN')", "unknown dataset 'nope'"),
    "empty": ("study = Study('x', Grid(datasets=['d1'], models=[], methods=['rand'], sparsities=[0.5]))",
              "models is empty"),
    "duplicate": ("g = Grid(datasets=['d1'], models=['m1'], methods=['rand'], sparsities=[0.5])\n"
                  "study = Study('x', g, g, domain='fake_domain:DOMAIN')", "duplicate cell"),
    "range": ("study = Study('x', Grid(datasets=['d1'], models=['m1'], methods=['rand'], sparsities=[1.5]), "
              "domain='fake_domain:DOMAIN')", r"sparsity 1\.5 out of range"),
}


@pytest.mark.parametrize("case", sorted(BAD_STUDIES))
def test_bad_study_files_give_one_line(tmp_path, monkeypatch, case):
    monkeypatch.syspath_prepend(str(TESTS))
    store = _seed_store(tmp_path / "home")
    before = _snapshot(store)
    text, message = BAD_STUDIES[case]
    path = tmp_path / "x.py"
    path.write_text("from tickets.study import Grid, Study\n" * (case != "syntax") + text + "\n")
    out = CliRunner().invoke(cli, ["--home", str(tmp_path / "home"), "study", "run", str(path)])
    assert out.exit_code == 2
    lines = out.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    import re
    assert re.search(message, lines[0]), lines[0]
    assert _snapshot(store).equals(before)
    assert not (tmp_path / "home" / "runs").exists() or os.listdir(tmp_path / "home" / "runs") == [GOOD]


@pytest.mark.parametrize("args, message", [
    (["sql", "DELETE FROM runs"], "DELETE is not allowed"),
    (["sql", "SELECT 1; DROP TABLE runs"], "one statement"),
    (["sql", "WITH x AS (SELECT 1) INSERT INTO runs SELECT * FROM runs"], "read-only"),
    (["store", "import", "{missing}"], "missing columns check, seed"),
    (["store", "import", "{badvalue}"], "row 2: sparsity '1.2' out of range"),
    (["store", "import", "{notdb}"], "is not a DuckDB database"),
    (["store", "import", "/dev/null"], "/dev/null: not a regular file; import a .csv, .parquet or .duckdb file"),
    (["store", "import", "{tmp}/nope.csv"], "nope.csv: no such file;"),
])
def test_bad_queries_and_imports_give_one_line_and_leave_the_store(tmp_path, args, message):
    store = _seed_store(tmp_path / "home")
    before = _snapshot(store)
    files = {"missing": tmp_path / "m.csv", "badvalue": tmp_path / "b.csv", "notdb": tmp_path / "x.duckdb", "tmp": tmp_path}
    files["missing"].write_text("dataset,model,method,sparsity,test_acc\nc,v,s,0.9,1\n")
    files["badvalue"].write_text("dataset,model,method,check,sparsity,seed,test_acc\nc,v,s,none,1.2,0,1\n")
    files["notdb"].write_text("not a database\n")
    args = [a.format(**files) for a in args]
    out = CliRunner().invoke(cli, ["--home", str(tmp_path / "home"), *args])
    assert out.exit_code == 2, out.output
    lines = out.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines
    assert _snapshot(store).equals(before)


@pytest.mark.parametrize("query, value", [
    ("SELECT '/*x*/' AS s", "/*x*/"),
    ("SELECT 'a--b' AS s;", "a--b"),
    ("/* why */ SELECT 'x' AS s -- done\n", "x"),
    ('SELECT "check" AS s FROM runs ;', "none"),
])
def test_read_only_sql_keeps_literals_and_comments_as_written(tmp_path, query, value):
    from registry import api

    _seed_store(tmp_path / "home")
    assert list(api.sql(query, home=tmp_path / "home")["s"]) == [value]


@pytest.mark.parametrize("query, message", [
    ("SELECT '--'; DROP TABLE runs", "one statement at a time"),
    ("SELECT ';' AS a; SELECT 2", "one statement at a time"),
    ("/* SELECT */ DELETE FROM runs", "DELETE is not allowed"),
    ("-- only a comment", "empty query"),
])
def test_read_only_sql_refusals(query, message):
    from registry.api import check_read_only

    with pytest.raises(UserError, match=message):
        check_read_only(query)


def test_heartbeat_survives_a_passing_filesystem_error_and_gives_up_before_the_lease_expires(tmp_path, monkeypatch):
    import registry.worker as worker

    monkeypatch.setenv("TICKETS_LEASE_TIMEOUT", "2")
    held = lease.acquire(tmp_path)
    calls, exits = [], []
    errors = iter([OSError("stale NFS handle"), True, OSError("x"), OSError("y"), OSError("z"), OSError("w")])

    def flaky(_lease):
        calls.append(1)
        outcome = next(errors)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    monkeypatch.setattr(lease, "heartbeat", flaky)
    monkeypatch.setattr(worker.os, "_exit", lambda code: (exits.append(code), beat.stop.set()))
    beat = worker._Heartbeat(held)
    beat.start()
    beat.join(timeout=10)
    assert exits == [worker.HELD]  # one error is survived; a run of them stops the worker in time
    assert len(calls) >= 4
