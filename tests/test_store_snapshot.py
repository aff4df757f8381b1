"""Readers and a running sweep never block each other (issue 22, item 0): readers open the snapshot
each write session publishes (registry.snapshot), never the store file the sweep writes."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from registry import api
from registry.snapshot import snapshot_path
from registry.store import Store
from tickets.cli.main import cli

TESTS = Path(__file__).parent
EPOCHS = 2
STUDY = f"""
from tickets.study import Grid, Study
study = Study("snap", Grid(datasets=["d1"], models=["m1"], methods=["dense"], sparsities=[0], seeds=list(range(3)),
                           train={{"epochs": {EPOCHS}, "sleep": 0.02}}), domain="fake_domain:DOMAIN")
"""
# A reader as the registry opens one (`tickets sql`, reports, the API), left open for the whole
# sweep as a long query or a notebook would: it must not hold up a single ingest.
HOLD = ("import sys\n"
        "from registry.store import Store\n"
        "with Store(sys.argv[1]).reader() as con:\n"
        "    print(con.execute('SELECT count(*) FROM runs').fetchone()[0], flush=True)\n"
        "    sys.stdin.read()\n"
        "    print(con.execute('SELECT count(*) FROM runs').fetchone()[0], flush=True)\n")
COUNTS = ("SELECT (SELECT count(*) FROM runs) AS runs, (SELECT count(*) FROM results) AS results, "
          "(SELECT count(*) FROM epochs) AS epochs")


def _consistent(row) -> bool:
    """Counts as of one finished ingest: every stored run has its result and all its epochs."""
    return row["runs"] == row["results"] and row["epochs"] == EPOCHS * row["runs"]


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("TICKETS_STORE_RETRY", "1")  # a store held for more than 1 s shows as a "held by" line
    return tmp_path


def test_a_sweep_with_readers_beside_it_is_never_held_up_and_every_read_is_whole(env):
    home = env / "home"
    with Store(home).writer():
        pass  # an empty store, published
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(home)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "0"  # the reader has the store open from here on
        study = env / "snap.py"
        study.write_text(STUDY)
        sweep = subprocess.Popen([sys.executable, "-m", "tickets.cli.main", "--home", str(home), "study", "run",
                                  str(study)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        reads, runner = [], CliRunner()
        while sweep.poll() is None:  # readers loop beside the sweep until it ends
            reads.append(api.sql(COUNTS, home=home).iloc[0])
            listed = runner.invoke(cli, ["--home", str(home), "sql", "SELECT count(*) AS n FROM run_results"])
            report = runner.invoke(cli, ["--home", str(home), "report", "quickstart"])
            assert listed.exit_code == 0 and "held by" not in listed.output + report.output, listed.output
        output = sweep.stdout.read()
        assert sweep.returncode == 0, output
        assert "held by" not in output and "not stored" not in output and "retrying" not in output, output
        holder.stdin.close()
        assert holder.stdout.readline().strip() == "0"  # still the store as it was when it opened
    finally:
        holder.kill()
        holder.wait()
    final = api.sql(COUNTS, home=home).iloc[0]
    assert final.to_dict() == {"runs": 3, "results": 3, "epochs": 3 * EPOCHS}
    assert reads and all(_consistent(r) for r in reads), [r.to_dict() for r in reads if not _consistent(r)]
    seen = [int(r["runs"]) for r in reads]
    assert seen == sorted(seen)  # snapshots follow the ingests in order


def test_each_write_session_publishes_and_a_store_written_elsewhere_is_read_directly(tmp_path):
    import duckdb

    home = tmp_path / "home"
    store = Store(home)
    store.add_new_runs({"runs": pd.DataFrame([{"key": "a" * 16, "kind": "t", "status": "done"}])})
    assert snapshot_path(store.path).exists()
    assert list(api.sql("SELECT key FROM runs", home=home)["key"]) == ["a" * 16]
    con = duckdb.connect(str(store.path))  # a notebook writing to the store itself
    con.execute("INSERT INTO runs (key, kind, status, source) VALUES ('bbbbbbbbbbbbbbbb', 't', 'done', 'local')")
    con.close()
    assert sorted(api.sql("SELECT key FROM runs", home=home)["key"]) == ["a" * 16, "b" * 16]
    store.forget(["a" * 16])
    assert list(api.sql("SELECT key FROM runs", home=home)["key"]) == ["b" * 16]
    assert not list(home.glob(".*.tmp"))
