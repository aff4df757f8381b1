"""Another process holding the store file (a notebook's long-lived read-only DuckDB connection) turns
store writes into one line naming that process; the sweep's results stay in their run directories
and the next run ingests them without training anything again."""
from __future__ import annotations

import collections
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import registry.store
from registry.store import Store
from tickets.cli.main import cli

TESTS = Path(__file__).parent
STUDY = """
from tickets.study import Grid, Study
study = Study("busy", Grid(datasets=["d1"], models=["m1"], methods=["dense"], sparsities=[0], seeds=[0, 1],
                           train={"epochs": 1, "sleep": 0.01}), domain="fake_domain:DOMAIN")
"""
HOLD = ("import duckdb, sys, time\n"
        "con = duckdb.connect(sys.argv[1], read_only=True)\n"
        "print('holding', flush=True)\n"
        "time.sleep(120)\n")


@pytest.fixture
def held_store(tmp_path, monkeypatch):
    """A home whose store.duckdb another process keeps open read-only, as a notebook would."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("FAKE_DOMAIN_LOG", str(tmp_path / "executions.log"))
    monkeypatch.setattr(registry.store, "LOCK_RETRY_SECONDS", 1.0)
    home = tmp_path / "home"
    with Store(home).writer():
        pass  # the store file exists, empty
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(home / "store.duckdb")], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "holding"
    yield home, holder
    if holder.poll() is None:
        holder.kill()
    holder.wait()


def test_a_held_store_gives_one_line_naming_the_holder_and_loses_no_result(tmp_path, held_store):
    home, holder = held_store
    study = tmp_path / "busy.py"
    study.write_text(STUDY)
    out = CliRunner().invoke(cli, ["--home", str(home), "study", "run", str(study)])
    assert out.exit_code == 1, out.output
    assert out.exception is None or isinstance(out.exception, SystemExit), repr(out.exception)
    busy = [line for line in out.output.splitlines() if "held by" in line]
    assert len(busy) == 1, out.output
    assert f"process {holder.pid} (" in busy[0] and "import duckdb" in busy[0], busy[0]
    assert "2 finished runs not stored yet" in busy[0] and "their run directories" in busy[0], busy[0]
    results = sorted((home / "runs").glob("*/result.json"))
    assert len(results) == 2  # trained and kept on disk
    assert Store(home).frame("SELECT count(*) AS n FROM runs")["n"][0] == 0

    # a plain write through the CLI says the same in one line, exit 2
    out = CliRunner().invoke(cli, ["--home", str(home), "store", "ingest"])
    assert out.exit_code == 2 and len(out.output.strip().splitlines()) == 1, out.output
    assert out.output.startswith("error: cannot write ") and f"process {holder.pid}" in out.output

    holder.kill()
    holder.wait()
    out = CliRunner().invoke(cli, ["--home", str(home), "study", "run", str(study)])
    assert out.exit_code == 0, out.output
    assert "nothing to run: 2/2 stages done" in out.output
    assert Store(home).frame("SELECT count(*) AS n FROM runs WHERE status = 'done'")["n"][0] == 2
    starts = collections.Counter(line for line in (tmp_path / "executions.log").read_text().splitlines()
                                 if line.startswith("start"))
    assert len(starts) == 2 and set(starts.values()) == {1}  # nothing trained twice


def test_a_held_store_at_planning_time_says_so_and_retrains_nothing(tmp_path, held_store):
    """Finished runs not yet stored when a sweep starts: counted done from their run directories,
    one line says they were not stored, exit 1; once the holder is gone they are stored."""
    home, holder = held_store
    study = tmp_path / "busy.py"
    study.write_text(STUDY)
    holder.kill()
    holder.wait()
    assert CliRunner().invoke(cli, ["--home", str(home), "study", "run", str(study)]).exit_code == 0
    with Store(home).writer() as con:  # forget the rows (as after `runs rm`), keep the run directories
        for table in ("runs", "results", "epochs", "layers"):
            con.execute(f"DELETE FROM {table}")
    again = subprocess.Popen([sys.executable, "-c", HOLD, str(home / "store.duckdb")], stdout=subprocess.PIPE, text=True)
    try:
        assert again.stdout.readline().strip() == "holding"
        out = CliRunner().invoke(cli, ["--home", str(home), "study", "run", str(study)])
        plan = CliRunner().invoke(cli, ["--home", str(home), "study", "plan", str(study)])
    finally:
        again.kill()
        again.wait()
    assert out.exit_code == 1 and out.exception is None or isinstance(out.exception, SystemExit), out.output
    assert "nothing to run: 2/2 stages done" in out.output
    busy = [line for line in out.output.splitlines() if "held by" in line]
    assert len(busy) == 1 and f"process {again.pid} (" in busy[0] and "2 finished runs not stored" in busy[0]
    assert plan.exit_code == 0 and "not stored yet" in plan.output and f"process {again.pid}" in plan.output
    out = CliRunner().invoke(cli, ["--home", str(home), "study", "run", str(study)])
    assert out.exit_code == 0 and "nothing to run: 2/2 stages done" in out.output, out.output
    assert Store(home).frame("SELECT count(*) AS n FROM runs")["n"][0] == 2
    starts = [line for line in (tmp_path / "executions.log").read_text().splitlines() if line.startswith("start")]
    assert len(starts) == 2
