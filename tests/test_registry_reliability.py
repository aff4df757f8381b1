"""Holes found by kill, race and hostile-input testing (issue 11): seeds the store cannot hold, one
bad run spoiling an ingest, copied or deleted run directories, torn leases, stray temporaries,
files corrupted after ingest."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from registry.atomic import write_json
from registry.domain import Stage
from registry.errors import UserError
from registry.ingest import ingest, ingest_all
from registry.store import Store
from tickets.cli.main import cli


def make_run(home: Path, seed: int = 0, acc: float = 50.0, name: str | None = None, method: str = "rand",
             deps: dict | None = None) -> str:
    """A finished run directory as a worker leaves it; returns its key."""
    identity = {"dataset": "d1", "model": "m1", "method": method, "seed": seed}
    stage = Stage("ticket", identity, identity, {**identity, "check": "none", "sparsity": 0.5}, deps=deps or {})
    rundir = home / "runs" / (name or stage.key)
    write_json(rundir / "stage.json", {"key": stage.key, "kind": "ticket", "identity": identity, "spec": identity,
                                       "columns": dict(stage.columns), "deps": dict(stage.deps),
                                       "domain": "fake_domain:DOMAIN"})
    write_json(rundir / "result.json", {"test_acc": acc})
    return stage.key


# ----------------------------------------------------------------------------------- defect 2: seeds
@pytest.mark.parametrize("seed", [2 ** 63, -1, 1.5, True])
def test_a_study_seed_the_store_cannot_hold_is_refused_where_it_enters(seed):
    from tickets.study import Grid, Study

    with pytest.raises(UserError, match=r"seed .* is not an integer in \[0, 2\*\*63\)"):
        Study("s", Grid(datasets=["synthetic"], models=["lenet300"], methods=["dense"], sparsities=[0],
                        seeds=[0, seed])).cells()


def test_the_domain_refuses_a_seed_of_2_to_the_63():
    from tickets.domain import DOMAIN

    with pytest.raises(UserError, match="below 2\\*\\*63"):
        DOMAIN.expand({"dataset": "synthetic", "model": "lenet300", "method": "dense", "seed": 2 ** 63})


@pytest.mark.parametrize("command", [["run", "--dataset", "synthetic", "--model", "lenet300", "--method", "dense"],
                                     ["train", "--dataset", "synthetic", "--model", "lenet300", "--method", "dense"]])
def test_run_and_train_refuse_a_seed_of_2_to_the_63(tmp_path, command):
    out = CliRunner().invoke(cli, ["--home", str(tmp_path / "home"), *command, "--seed", str(2 ** 63)])
    assert out.exit_code == 2 and "--seed" in out.output and "range" in out.output
    assert not (tmp_path / "home" / "runs").exists()


def test_one_run_with_an_unstorable_seed_does_not_keep_the_others_out(tmp_path):
    home = tmp_path / "home"
    good = [make_run(home, seed=s, acc=60 + s) for s in (1, 2)]
    bad = make_run(home, seed=2 ** 63)
    n, problems = ingest_all(Store(home))
    assert n == 2 and len(problems) == 1 and bad in problems[0] and "2**63" in problems[0]
    assert sorted(Store(home).frame("SELECT key FROM runs")["key"]) == sorted(good)


def test_a_row_the_store_refuses_costs_only_its_own_run(tmp_path, monkeypatch):
    """Whatever the checks miss and the database refuses: the batch falls back to one run at a time."""
    import duckdb

    home = tmp_path / "home"
    keys = [make_run(home, seed=s) for s in range(3)]
    store = Store(home)
    real = Store.replace_runs

    def picky(self, frames):
        if keys[1] in set(frames["runs"]["key"]):
            raise duckdb.ConversionException("Conversion Error: value out of range")
        return real(self, frames)

    monkeypatch.setattr(Store, "replace_runs", picky)
    n, problems = ingest(store, [home / "runs" / k for k in keys])
    assert n == 2 and len(problems) == 1 and keys[1] in problems[0] and "out of range" in problems[0]
    assert sorted(store.frame("SELECT key FROM runs")["key"]) == sorted([keys[0], keys[2]])
