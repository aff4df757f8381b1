"""Hostile input that parses (issue 22): exchange files with exact big seeds and keys that are paths,
run files nested 100,000 levels deep, layers that kept -5 weights, study names with a comma. Each is
a one-line problem of its own run or row; nothing else stops, and no path outside runs/ is touched."""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from registry import api
from registry.atomic import write_json
from registry.errors import UserError
from registry.ingest import ingest_all
from registry.store import Store
from tickets.cli.main import cli
from registry.domain import Stage

HEADER = "dataset,model,method,check,sparsity,seed,test_acc"
DEEP = "[" * 100_000 + "]" * 100_000


def make_run(home: Path, seed: int = 0) -> str:
    """A finished run directory as a worker leaves it; returns its key."""
    identity = {"dataset": "d1", "model": "m1", "method": "rand", "seed": seed}
    stage = Stage("ticket", identity, identity, {**identity, "check": "none", "sparsity": 0.5}, deps={})
    rundir = home / "runs" / stage.key
    write_json(rundir / "stage.json", {"key": stage.key, "kind": "ticket", "identity": identity, "spec": identity,
                                       "columns": dict(stage.columns), "deps": {}, "domain": "fake_domain:DOMAIN"})
    write_json(rundir / "result.json", {"test_acc": 50.0})
    return stage.key


def _exchange(tmp_path: Path, *rows: str, header: str = HEADER) -> Path:
    path = tmp_path / "x.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


# ------------------------------------------------------------------------------- store import
def test_seeds_are_read_as_integers_exactly(tmp_path):
    home = tmp_path / "home"
    path = _exchange(tmp_path, f"cifar10,vgg19,snip,none,0.9,{2 ** 53 + 1},90", f"cifar10,vgg19,snip,none,0.9,{2 ** 63 - 1},91")
    assert api.import_file(path, home=home) == (2, 2)
    assert sorted(api.results(home=home)["seed"]) == [2 ** 53 + 1, 2 ** 63 - 1]


@pytest.mark.parametrize("seed", [str(2 ** 63), "-1", "1.5", "1e3", "x"])
def test_seeds_out_of_range_or_not_integers_are_refused(tmp_path, seed):
    with pytest.raises(UserError, match=rf"row 2: seed '{seed}' is not a non-negative integer"):
        api.import_file(_exchange(tmp_path, f"cifar10,vgg19,snip,none,0.9,{seed},90"), home=tmp_path / "home")


@pytest.mark.parametrize("key", ["../../../etc", "/etc/passwd", "a" * 15, "A" * 16, "g" * 16, "runs/x"])
def test_keys_that_are_not_run_keys_are_refused(tmp_path, key):
    path = _exchange(tmp_path, f"{key},cifar10,vgg19,snip,none,0.9,0,90", header="key," + HEADER)
    with pytest.raises(UserError, match=r"row 2: key .* is not a run key \(16 lowercase hex digits\)"):
        api.import_file(path, home=tmp_path / "home")
    assert not (tmp_path / "home" / "store.duckdb").exists()


def test_a_store_with_a_path_for_a_key_is_not_imported_and_runs_rm_of_one_does_not_crash(tmp_path):
    other, home = tmp_path / "other", tmp_path / "home"
    victim = tmp_path / "victim"
    (victim / "runs").mkdir(parents=True)
    (victim / "keep.txt").write_text("mine")
    hostile = os.path.relpath(victim, other / "runs")  # runs/<this> is the victim folder
    Store(other).add_new_runs({"runs": pd.DataFrame([{"key": hostile, "kind": "imported", "status": "done",
                                                      "dataset": "d", "model": "m", "method": "x", "check": "none",
                                                      "sparsity": 0.5, "seed": 0}])})
    with pytest.raises(UserError, match="is not a run key"):
        api.import_file(other / "store.duckdb", home=home)
    # such a row in a store (an older version imported it): `runs rm` forgets it, touches no path
    result = CliRunner().invoke(cli, ["--home", str(other), "runs", "rm", hostile, "--yes"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("removed 1 run")
    assert (victim / "keep.txt").read_text() == "mine" and (victim / "runs").is_dir()
    assert Store(other).frame("SELECT count(*) AS n FROM runs")["n"][0] == 0


# ------------------------------------------------------------------------------- run files
@pytest.mark.parametrize("name", ["result.json", "stage.json", "meta.json", "layers.json", "studies.json"])
def test_a_run_file_nested_100000_deep_is_one_problem_of_its_run(tmp_path, name):
    home = tmp_path / "home"
    good = make_run(home, seed=1)
    bad = make_run(home, seed=2)
    (home / "runs" / bad / name).write_text(DEEP)
    n, problems = ingest_all(Store(home))
    stored = set(Store(home).frame("SELECT key FROM runs")["key"])
    if name == "studies.json":  # membership is read leniently: the run is kept, without studies
        assert n == 2 and stored == {good, bad} and problems == []
        return
    assert n == 1 and stored == {good}
    assert len(problems) == 1 and bad in problems[0] and "nested too deeply" in problems[0] and "\n" not in problems[0]


def test_store_ingest_and_study_run_report_a_deep_result_json_in_one_line(tmp_path, monkeypatch):
    tests = Path(__file__).parent
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tests), os.environ.get("PYTHONPATH", "")]))
    home = tmp_path / "home"
    study = tmp_path / "one.py"
    study.write_text("from tickets.study import Grid, Study\n"
                     "study = Study('one', Grid(datasets=['d1'], models=['m1'], methods=['dense'], sparsities=[0],\n"
                     "    seeds=[0], train={'epochs': 1, 'sleep': 0}), domain='fake_domain:DOMAIN')\n")
    runner = CliRunner()
    first = runner.invoke(cli, ["--home", str(home), "study", "run", str(study), "--workers", "1"])
    assert first.exit_code == 0, first.output
    (key,) = [p.name for p in (home / "runs").iterdir() if (p / "result.json").exists()]
    (home / "runs" / key / "result.json").write_text(DEEP)
    ingested = runner.invoke(cli, ["--home", str(home), "store", "ingest"])
    assert ingested.exit_code == 1 and "Traceback" not in ingested.output
    assert [line for line in ingested.output.splitlines() if line.startswith("not ingested")] == [
        f"not ingested: {home / 'runs' / key / 'result.json'}: corrupt result.json (JSON nested too deeply to read)"]
    again = runner.invoke(cli, ["--home", str(home), "study", "run", str(study), "--workers", "1"])
    assert again.exception is None or isinstance(again.exception, SystemExit), again.output
    assert "RecursionError" not in again.output and "Traceback" not in again.output


def test_layer_counts_that_cannot_be_are_refused_per_run(tmp_path):
    home = tmp_path / "home"
    good, negative, too_many = (make_run(home, seed=s) for s in (1, 2, 3))
    for key, kept in ((good, 5), (negative, -5), (too_many, 11)):
        write_json(home / "runs" / key / "layers.json",
                   [{"layer": "fc", "shape": [2, 5], "weights": 10, "kept": kept, "keep_ratio": 0.5}])
    n, problems = ingest_all(Store(home))
    assert n == 1 and set(Store(home).frame("SELECT key FROM runs")["key"]) == {good}
    assert sorted(problems) == sorted([
        f"{home / 'runs' / negative / 'layers.json'}: layer 'fc' kept -5 weights; expected [0, 10]",
        f"{home / 'runs' / too_many / 'layers.json'}: layer 'fc' kept 11 weights; expected [0, 10]"])


def test_a_study_name_with_a_comma_is_refused_per_run(tmp_path):
    home = tmp_path / "home"
    good, bad = make_run(home, seed=1), make_run(home, seed=2)
    write_json(home / "runs" / good / "studies.json", ["table1"])
    write_json(home / "runs" / bad / "studies.json", ["table1,table2"])
    n, problems = ingest_all(Store(home))
    assert n == 1 and Store(home).frame("SELECT key, studies FROM runs").values.tolist() == [[good, "table1"]]
    assert problems == [f"{home / 'runs' / bad / 'studies.json'}: study name 'table1,table2' cannot be recorded "
                        f"(it must be non-empty and hold no comma)"]
