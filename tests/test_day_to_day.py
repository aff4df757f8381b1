"""Using the tool day to day (issue 15): study membership, running stages, progress in a log,
where the store is, and which code made a run."""
from __future__ import annotations

import json
import os
import re
import time
import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner

from registry.atomic import read_json, write_json
from registry.store import Store
from tickets.cli.main import cli

TESTS = Path(__file__).parent
STUDY = """
from tickets.study import Grid, Study
study = Study("{name}", Grid(datasets=["d1"], models=["m1"], methods={methods}, sparsities={sparsities},
                            seeds=[0], train={{"epochs": 2, "sleep": 0.01}},
                            exclude=[{{"method": "dense", "sparsity": [0.5, 0.9]}}, {{"method": "rand", "sparsity": 0}}]),
              domain="fake_domain:DOMAIN")
"""


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.delenv("TICKETS_PROGRESS", raising=False)
    return tmp_path


def _study(tmp_path: Path, name: str, methods, sparsities) -> Path:
    path = tmp_path / f"{name}.py"
    path.write_text(STUDY.format(name=name, methods=methods, sparsities=sparsities))
    return path


def _invoke(home, *args):
    out = CliRunner().invoke(cli, ["--home", str(home), *args])
    return out.exit_code, out.output


def test_runs_record_every_study_that_asked_for_them(env, monkeypatch):
    home = env / "home"
    a = _study(env, "alpha", ["dense"], [0])
    b = _study(env, "beta", ["dense", "rand"], [0, 0.5, 0.9])  # shares alpha's dense run
    code, out = _invoke(home, "study", "run", str(a))
    assert code == 0, out
    # progress in a non-terminal (CliRunner, a log file): one line per start / finish with an ETA
    assert re.search(r"\d\d:\d\d:\d\d start\s+0/1\s+\w{8} pretrain", out), out
    assert re.search(r"\d\d:\d\d:\d\d done\s+1/1\s+\w{8} pretrain .*\(\d+s\)", out), out
    code, out = _invoke(home, "study", "run", str(b))
    assert code == 0, out
    assert re.search(r"done\s+2/3 .* ETA \d\d:\d\d \(\d+s left\)", out), out

    rows = Store(home).frame("SELECT method, studies FROM run_results ORDER BY method, sparsity")
    assert list(zip(rows["method"], rows["studies"])) == [("dense", "alpha,beta"), ("rand", "beta"), ("rand", "beta")]
    sql = Store(home).frame("SELECT count(*) AS n FROM run_results "
                            "WHERE list_contains(string_split(studies, ','), 'alpha')")
    assert sql["n"][0] == 1
    code, out = _invoke(home, "runs", "ls", "--study", "alpha", "--format", "json")
    assert code == 0 and [r["method"] for r in json.loads(out)] == ["dense"]
    code, out = _invoke(home, "runs", "ls", "--study", "beta", "--format", "json")
    assert sorted(r["method"] for r in json.loads(out)) == ["dense", "rand", "rand"]
    # the run directories are the source of truth: a rebuilt store keeps the membership
    (home / "store.duckdb").unlink()
    code, out = _invoke(home, "store", "ingest")
    assert code == 0
    rows = Store(home).frame("SELECT method, studies FROM run_results ORDER BY method, sparsity")
    assert list(rows["studies"]) == ["alpha,beta", "beta", "beta"]

    # a report narrowed to one study (`tickets report NAME --study alpha`)
    from registry.report import make_table
    from registry.report.spec import Axis, AutoRows, Report

    report = Report(name="r", title="r", columns=(Axis("sparsity"),), auto_rows=AutoRows(reference=()), seeds=1,
                    reference_axis="seed")
    assert len(make_table(report, query=Store(home).frame).columns) == 3
    narrowed = Report(**{**report.__dict__, "filters": {"study": "alpha"}})
    assert len(make_table(narrowed, query=Store(home).frame).columns) == 1  # alpha asked for the dense run only

    # the same from the command line, with a report of one's own (TICKETS_REPORTS adds to the built-in folder)
    own = env / "own_reports"
    own.mkdir()
    (own / "mine.py").write_text("from registry.report.spec import Axis, AutoRows, Report\n"
                                 "REPORT = Report(name='mine', title='mine', columns=(Axis('sparsity'),), "
                                 "auto_rows=AutoRows(reference=()), seeds=1, reference_axis='seed')\n")
    monkeypatch.setenv("TICKETS_REPORTS", str(own))
    def filled(*args):  # (row, sparsity) of the cells holding runs
        code, out = _invoke(home, "report", "mine", "--format", "csv", *args)
        assert code == 0, out
        import csv

        rows = csv.DictReader(line for line in out.splitlines() if line.startswith(("report,", "mine,")))
        return {(r["row"], float(r["sparsity"])) for r in rows if r["n"] not in ("", "0")}

    assert filled() == {("dense", 0.0), ("rand", 0.5), ("rand", 0.9)}
    assert filled("--study", "alpha") == {("dense", 0.0)}

    # which code made each run: package version, git commit of a checkout, torch version
    from importlib.metadata import version

    stored = Store(home).frame("SELECT DISTINCT code_version FROM runs")["code_version"]
    assert len(stored) == 1 and stored[0].startswith("fake_domain fake-1") and f"torch {version('torch')}" in stored[0]


def test_runs_ls_status_running_reads_live_leases(env):
    home = env / "home"
    rundir = home / "runs" / "abcdef0123456789"
    rundir.mkdir(parents=True)
    write_json(rundir / "stage.json", {"key": rundir.name, "kind": "ticket", "columns": {
        "dataset": "cifar10", "model": "vgg19", "method": "snip", "check": "none", "sparsity": 0.9, "seed": 1}})
    write_json(rundir / "progress.json", {"phase": "retrain", "epoch": 41, "epochs": 160, "time": time.time()})
    write_json(rundir / "lease.json", {"host": "node7", "pid": 1, "token": "t", "heartbeat": time.time() - 3})
    stale = home / "runs" / "0000000000000000"
    stale.mkdir()
    write_json(stale / "lease.json", {"host": "node7", "pid": 1, "token": "t", "heartbeat": time.time() - 10 ** 6})
    code, out = _invoke(home, "runs", "ls", "--status", "running", "--format", "json")
    assert code == 0, out
    rows = json.loads(out)
    assert len(rows) == 1
    row = rows[0]
    assert (row["key"], row["host"], row["method"], row["epoch"], row["epochs"]) == (
        rundir.name, "node7", "snip", 41, 160)
    assert 2 <= row["heartbeat_age_s"] < 60
    code, out = _invoke(home, "runs", "ls", "--status", "running", "--model", "resnet20", "--format", "json")
    assert json.loads(out) == []


def test_an_empty_result_names_the_home_and_the_api_warns(tmp_path, monkeypatch):
    from registry import api

    home = tmp_path / "nowhere"
    code, out = _invoke(home, "runs", "ls")
    assert code == 0 and f"(no store at {home}/store.duckdb; set --home or TICKETS_HOME" in out
    code, out = _invoke(home, "report", "table1")
    assert code == 2 and f"no store at {home}/store.duckdb" in out
    other = tmp_path / "other"
    Store(other).add_new_runs({"runs": __import__("pandas").DataFrame(
        [{"key": "k1", "kind": "imported", "status": "imported", "dataset": "mnist", "model": "m", "method": "x",
          "check": "none", "sparsity": 0.5, "seed": 0}])})
    code, out = _invoke(other, "report", "table1")
    assert code == 2 and f"no runs in the store {other}/store.duckdb match dataset=" in out
    with pytest.warns(api.NoStoreWarning, match=re.escape(str(home / "store.duckdb"))):
        frame = api.results(home=home)
    assert frame.empty
    with warnings.catch_warnings():
        warnings.simplefilter("error", api.NoStoreWarning)
        with pytest.raises(api.NoStoreWarning):
            api.sql("SELECT 1", home=home)


def test_code_version_names_the_commit_and_torch(tmp_path):
    from importlib.metadata import version

    from registry.provenance import code_version, git_commit

    repo = tmp_path / "repo"
    (repo / ".git" / "refs" / "heads").mkdir(parents=True)
    (repo / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (repo / ".git" / "refs" / "heads" / "main").write_text("0123456789abcdef0123456789abcdef01234567\n")
    (repo / "pkg").mkdir()
    (repo / "pkg" / "mod.py").write_text("")
    assert git_commit(str(repo / "pkg" / "mod.py")) == "0123456789abcdef0123456789abcdef01234567"
    text = code_version("mypkg", str(repo / "pkg" / "mod.py"), "1.2")
    assert text == f"mypkg 1.2 git 0123456789ab torch {version('torch')}"
    assert git_commit(str(tmp_path / "elsewhere")) is None or (tmp_path / ".git").exists()


def test_numeric_spec_filters_match_numbers():
    import pandas as pd

    from registry.report.aggregate import stats_from_frame
    from registry.report.spec import Axis, Report

    runs = pd.DataFrame([
        {"key": f"k{i}", "dataset": "d", "model": "m", "method": "snip", "check": "none", "sparsity": 0.9,
         "seed": i, "test_acc": 90.0 + i, "spec": json.dumps({"train": {"lr": lr, "epochs": 3}})}
        for i, lr in enumerate([0.1, 0.1, 0.05])])
    for value in (0.1, "0.1", [0.1, 0.2]):
        report = Report(name="r", title="r", columns=(Axis("sparsity"),), filters={"spec.train.lr": value})
        stats = stats_from_frame(report, runs)
        assert int(stats["n"].sum()) == 2, value
    report = Report(name="r", title="r", columns=(Axis("sparsity"),), filters={"spec.train.epochs": 3.0})
    assert int(stats_from_frame(report, runs)["n"].sum()) == 3
