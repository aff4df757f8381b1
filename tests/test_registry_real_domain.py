"""The registry with the real pruning domain: one tiny cell on synthetic data, then a rerun."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from registry.store import Store
from tickets.cli.main import cli


@pytest.mark.slow
def test_tickets_run_with_the_real_domain_then_rerun_runs_nothing(tmp_path):
    home = tmp_path / "home"
    args = ["--home", str(home), "run", "--dataset", "synthetic", "--model", "lenet300",
            "--method", "random_tickets", "--sparsity", "0.9", "--set", "epochs=1"]
    runner = CliRunner()
    out = runner.invoke(cli, args)
    assert out.exit_code == 0, out.output
    rows = Store(home).frame("SELECT r.kind, r.method, r.sparsity, r.status, s.test_acc, "
                             "(SELECT count(*) FROM layers l WHERE l.key = r.key) AS layers "
                             "FROM runs r JOIN results s USING (key)")
    assert rows.to_dict("records")[0]["status"] == "done" and rows["layers"][0] > 0
    assert 0 <= rows["test_acc"][0] <= 100
    out = runner.invoke(cli, args)
    assert out.exit_code == 0 and "nothing to run: 1/1 stages done" in out.output


def test_a_study_whose_data_is_missing_stops_before_starting(tmp_path, monkeypatch):
    """One clear line up front instead of one failure per stage (and a --retry-failed later)."""
    monkeypatch.setenv("TICKETS_DOWNLOAD", "0")
    monkeypatch.setenv("TICKETS_DATA", str(tmp_path / "empty-data"))
    study = tmp_path / "cifar.py"
    study.write_text('from tickets.study import Grid, Study\n'
                     'study = Study("c", Grid(datasets=["cifar10"], models=["vgg11"], methods=["snip"], '
                     'sparsities=[0.9], seeds=[0, 1], train={"epochs": 1}))\n')
    home = tmp_path / "home"
    plan = CliRunner().invoke(cli, ["--home", str(home), "study", "plan", str(study)])
    assert plan.exit_code == 0 and "warning: dataset cifar10 is not on this machine" in plan.output
    run = CliRunner().invoke(cli, ["--home", str(home), "study", "run", str(study)])
    assert run.exit_code == 2
    assert "nothing started: dataset cifar10: files not found; expected" in run.output
    assert not (home / "runs").exists() or not any((home / "runs").iterdir())
