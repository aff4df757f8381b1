"""The domain version (tickets/versions.py, issue 21): bumping it replans exactly the stages a change
affects (and what depends on them); today's keys are unchanged; older runs are listed as stale by
`runs ls --stale` and `study plan`, and `runs rm --stale` drops them; reports mark (and --strict
refuses) cells pooling runs of different code versions, environments or data."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from registry.atomic import write_json
from registry.ingest import ingest_all
from registry.plan import expand, make_plan
from registry.store import Store
from tickets import versions
from tickets.cli.main import cli
from tickets.study import load_study

STUDY = """
from tickets.study import Grid, Study
COMMON = dict(datasets=("synthetic",), models=("lenet300",), seeds=(0,), train={"epochs": 1})
study = Study("versioned",
    Grid(methods=("dense",), sparsities=(0.0,), **COMMON),
    Grid(methods=("snip", "random_tickets", "lt"), sparsities=(0.9,), **COMMON))
"""


@pytest.fixture
def study_file(tmp_path) -> Path:
    path = tmp_path / "versioned.py"
    path.write_text(STUDY)
    return path


def _keys(study_file) -> dict[tuple[str, str], str]:
    _, stages, _ = expand(load_study(str(study_file)))
    return {(s.kind, s.columns["method"]): key for key, s in stages.items()}


def _bump(monkeypatch, change: versions.Change | None) -> None:
    monkeypatch.setattr(versions, "DOMAIN_VERSION", 2)
    monkeypatch.setattr(versions, "CHANGES", {2: change} if change else {})


def test_version_one_enters_no_identity(study_file):
    _, stages, _ = expand(load_study(str(study_file)))
    assert versions.DOMAIN_VERSION == versions.BASELINE == 1
    assert all("domain_version" not in s.identity for s in stages.values())


def test_a_scoped_bump_replans_exactly_the_affected_cells(study_file, monkeypatch):
    before = _keys(study_file)
    _bump(monkeypatch, versions.Change("snip scoring fix", methods=("snip",)))
    after = _keys(study_file)
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {("ticket", "snip")}


def test_a_pretraining_bump_carries_to_its_dependents_only(study_file, monkeypatch):
    before = _keys(study_file)
    _bump(monkeypatch, versions.Change("dense schedule fix", kinds=("pretrain",)))
    after = _keys(study_file)
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {("pretrain", "dense"), ("ticket", "lt")}  # lt prunes the pretrained network


def test_an_unscoped_bump_replans_everything(study_file, monkeypatch):
    before = _keys(study_file)
    _bump(monkeypatch, None)
    after = _keys(study_file)
    assert all(before[name] != after[name] for name in before)


def _fake_finished(home: Path, study_file: Path) -> None:
    """Run directories as the worker would leave them (no training: the test is about keys)."""
    from registry.scheduler import write_stage

    store = Store(home)
    plan = make_plan(load_study(str(study_file)), store)
    for key in plan.stages:
        rundir = write_stage(store, key, plan)
        write_json(rundir / "result.json", {"test_acc": 50.0})
    ingest_all(store)


def test_stale_runs_are_listed_by_runs_ls_and_study_plan_and_removed_by_runs_rm(tmp_path, study_file, monkeypatch):
    home = tmp_path / "home"
    _fake_finished(home, study_file)
    old = _keys(study_file)
    runner = CliRunner()
    listed = runner.invoke(cli, ["--home", str(home), "runs", "ls", "--stale", "--format", "csv"])
    assert listed.exit_code == 0 and listed.output.count("\n") == 1  # the header only: nothing is stale

    _bump(monkeypatch, versions.Change("snip scoring fix", methods=("snip",)))
    listed = runner.invoke(cli, ["--home", str(home), "runs", "ls", "--stale", "--format", "csv"])
    assert listed.exit_code == 0, listed.output
    assert old[("ticket", "snip")] in listed.output and listed.output.count("\n") == 2
    plan = runner.invoke(cli, ["--home", str(home), "study", "plan", str(study_file)])
    assert plan.exit_code == 0, plan.output
    assert "1 stored run of this study was made by an older domain version" in plan.output
    assert old[("ticket", "snip")] in plan.output and "missing by kind: ticket 1" in plan.output

    removed = runner.invoke(cli, ["--home", str(home), "runs", "rm", "--stale", "--yes"])
    assert removed.exit_code == 0 and "removed 1 run" in removed.output
    left = set(Store(home).frame("SELECT key FROM runs")["key"])
    assert old[("ticket", "snip")] not in left and old[("ticket", "lt")] in left


def test_a_cell_pooling_code_versions_environments_or_data_is_marked_and_refused_when_strict(tmp_path):
    import csv

    # every row the quickstart report expects (a row without runs is n/a, and --strict refuses that)
    cells = [("dense", "none", (0.0,))] + [(m, c, (0.9, 0.95, 0.98)) for m, c in (
        ("lt", "none"), ("snip", "none"), ("snip", "corrupt"), ("grasp", "none"), ("random_tickets", "none"))]
    rows = [{"dataset": "fashionmnist", "model": "lenet300", "method": m, "check": c, "sparsity": p,
             "seed": seed, "test_acc": 87.0 + seed, "best_test_acc": 87.0 + seed, "variant": "epochs=3 milestones=2"}
            for m, c, ps in cells for p in ps for seed in (0, 1)]
    path = tmp_path / "runs.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    home = tmp_path / "home"
    runner = CliRunner()
    assert runner.invoke(cli, ["--home", str(home), "store", "import", str(path)]).exit_code == 0
    clean = runner.invoke(cli, ["--home", str(home), "report", "quickstart", "--strict", "--format", "csv"])
    assert clean.exit_code == 0 and "pools" not in clean.output, clean.output
    with Store(home).writer() as con:  # seed 1 of SNIP 90 % made by other code, on another data copy
        con.execute("UPDATE runs SET code_version = 'tickets 0.1.0 git ' || CAST(seed AS VARCHAR), env_hash = 'e', "
                    "data_fingerprint = 'file:' || CAST(seed AS VARCHAR) WHERE method = 'snip' AND \"check\" = 'none' AND sparsity = 0.9")
    marked = runner.invoke(cli, ["--home", str(home), "report", "quickstart", "--format", "markdown"])
    assert marked.exit_code == 0, marked.output
    assert "pools runs of 2 code versions, 2 data fingerprints" in marked.output
    snip = next(line for line in marked.output.splitlines() if line.startswith("| SNIP"))
    assert "*" in snip
    strict = runner.invoke(cli, ["--home", str(home), "report", "quickstart", "--strict"])
    assert strict.exit_code == 2 and "differ in more than the seed" in strict.output
