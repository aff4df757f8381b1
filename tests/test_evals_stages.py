"""Evaluations as stages on real (tiny) runs: adding them to a finished study runs only them, their
metrics land in the `evals` table and in reports, and an evaluation of a failed or missing run is
reported, never a crash."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from registry.errors import UserError
from registry.store import Store
from tickets.cli.main import cli

pytestmark = pytest.mark.usefixtures("single_thread")

STUDY = '''from tickets.study import Grid, Study
from tickets.pruning.methods import RandomTickets
study = Study("evals", Grid(datasets=["synthetic"], models=["lenet300"],
                            methods=["dense", RandomTickets(rule="erk")], sparsities=[0.0, 0.9],
                            exclude=[{{"method": "dense", "sparsity": 0.9}}, {{"method": "random_tickets", "sparsity": 0.0}}],
                            train={{"epochs": 1{extra_train}}}{evals}))
'''
EVALS = ', evals=("calibration", "ood:digits", "ood:noise", "fgsm", "pgd:steps=2")'


def _write(path, evals: str = "", extra_train: str = ""):
    path.write_text(STUDY.format(evals=evals, extra_train=extra_train))
    return path


@pytest.mark.slow
def test_adding_evaluations_to_a_finished_study_runs_only_evaluations(tmp_path):
    home, study = tmp_path / "home", tmp_path / "study.py"
    runner = CliRunner()
    _write(study)
    out = runner.invoke(cli, ["--home", str(home), "study", "run", str(study), "--workers", "1"])
    assert out.exit_code == 0, out.output
    trained = set(Store(home).frame("SELECT key FROM runs")["key"])
    assert len(trained) == 2

    _write(study, EVALS)
    plan = runner.invoke(cli, ["--home", str(home), "study", "plan", str(study)])
    assert plan.exit_code == 0, plan.output
    assert "missing by kind: eval 10" in plan.output  # 2 networks x 5 evaluations, no training
    out = runner.invoke(cli, ["--home", str(home), "study", "run", str(study), "--workers", "1"])
    assert out.exit_code == 0, out.output
    store = Store(home)
    runs = store.frame("SELECT key, kind, status FROM runs")
    assert set(runs[runs.kind != "eval"]["key"]) == trained  # nothing trained again
    assert (runs[runs.kind == "eval"]["status"] == "done").sum() == 10
    for key in trained:  # the training stages kept their single training
        assert not (home / "runs" / key / "evals.json").exists()

    evals = store.frame("SELECT e.*, r.method FROM evals e JOIN runs r ON r.key = e.run_key")
    assert set(evals["run_key"]) == trained
    assert set(evals["eval"]) == {"calibration", "ood:digits", "ood:noise", "fgsm", "pgd:steps=2"}
    by = {(m, e, k): v for m, e, k, v in zip(evals.method, evals["eval"], evals.metric, evals.value)}
    for method in ("dense", "random_tickets"):
        assert 0 <= by[(method, "calibration", "ece")] <= 1
        assert by[(method, "calibration", "nll")] > 0 and 0 <= by[(method, "calibration", "brier")] <= 2
        assert 0 <= by[(method, "ood:digits", "auroc")] <= 1 and 0 <= by[(method, "ood:noise", "fpr95")] <= 1
        assert by[(method, "pgd:steps=2", "adv_acc")] <= by[(method, "pgd:steps=2", "clean_acc")]
    # the calibration evaluation's accuracy is the run's own final test accuracy
    acc = store.frame("SELECT rr.test_acc, e.value FROM eval_results e JOIN run_results rr ON rr.key = e.key "
                      "WHERE e.eval = 'calibration' AND e.eval_metric = 'acc'")
    assert len(acc) == 2 and (abs(acc.test_acc - acc.value) < 1e-6).all()
    eval_key = runs[runs.kind == "eval"]["key"].iloc[0]
    assert (home / "runs" / eval_key / "evals.json").exists()
    assert any((home / "runs" / k / "reliability.png").exists() for k in runs[runs.kind == "eval"]["key"])
    assert any((home / "runs" / k / "reliability.pdf").exists() for k in runs[runs.kind == "eval"]["key"])

    # a report of one evaluation metric: the same numbers as the table
    from registry.report import Report, make_table
    from registry.report.spec import Axis

    report = Report(name="ece", title="ECE", columns=(Axis("sparsity"),), eval="calibration", metric="ece",
                    filters={"dataset": "synthetic"}, seeds=1, lower_is_better=True,
                    auto_rows=__import__("registry.report", fromlist=["AutoRows"]).AutoRows(reference=()))
    table = make_table(report, query=store.frame)
    means = {c.coords["sparsity"]: c.mean for s in table.sections for r in s.rows for c in r.cells if c.mean is not None}
    assert means[0.9] == pytest.approx(by[("random_tickets", "calibration", "ece")])
    from registry import api

    ece = api.evals(home=home, eval="calibration", eval_metric="ece", method="random_tickets")
    assert list(ece["value"]) == [by[("random_tickets", "calibration", "ece")]]
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    (folder / "synth.py").write_text(
        "from registry.report import AutoRows, Axis, Report\n"
        "REPORT = Report(name='synth', title='t', columns=(Axis('sparsity'),), filters={'dataset': 'synthetic'},"
        " auto_rows=AutoRows(reference=()), seeds=1, decimals=4)\n")
    cli_out = runner.invoke(cli, ["--home", str(home), "report", "synth", "--eval", "ood:digits",
                                  "--metric", "auroc", "--format", "csv"], env={"TICKETS_REPORTS": str(folder)})
    assert cli_out.exit_code == 0, cli_out.output
    assert f"{by[('random_tickets', 'ood:digits', 'auroc')]:.4f}" in cli_out.output

    again = runner.invoke(cli, ["--home", str(home), "study", "plan", str(study)])
    assert again.exit_code == 0 and "missing by kind" not in again.output


@pytest.mark.slow
def test_an_evaluation_of_a_failed_run_is_reported_as_blocked(tmp_path):
    home, study = tmp_path / "home", tmp_path / "study.py"
    _write(study, ', evals=("calibration",)', extra_train=', "lr": 1e12')  # training diverges
    out = CliRunner().invoke(cli, ["--home", str(home), "study", "run", str(study), "--workers", "1"])
    assert out.exit_code == 1, out.output
    assert "2 blocked" in out.output and "blocked: dependency" in out.output
    assert "Traceback" not in out.output
    runs = Store(home).frame("SELECT kind, status FROM runs")
    assert set(runs["kind"]) <= {"pretrain", "ticket"} and (runs["status"] == "failed").any()


def test_an_evaluation_of_a_missing_or_failed_run_is_one_line(tmp_path):
    from tickets.domain import DOMAIN

    stage = {"kind": "eval", "spec": {"eval": {"name": "calibration"}, "seed": 0}}
    with pytest.raises(UserError, match="does not exist"):
        DOMAIN.run(stage, tmp_path / "eval", {"run": tmp_path / "gone"}, lambda _: None)
    failed = tmp_path / "failed"
    failed.mkdir()
    (failed / "stage.json").write_text(json.dumps({"key": "failed", "kind": "ticket", "spec": {}}))
    (failed / "error.json").write_text(json.dumps({"reason": "Diverged: loss is nan"}))
    with pytest.raises(UserError, match="failed: Diverged: loss is nan"):
        DOMAIN.run(stage, tmp_path / "eval", {"run": failed}, lambda _: None)
    with pytest.raises(UserError, match="needs the run directory"):
        DOMAIN.run(stage, tmp_path / "eval", {}, lambda _: None)


def test_cells_without_evaluations_keep_their_keys_and_evaluation_keys_omit_defaults():
    from tickets.domain import DOMAIN

    cell = {"dataset": "synthetic", "model": "lenet300", "method": "dense", "sparsity": 0.0, "seed": 0}
    plain = DOMAIN.expand(cell)
    with_evals = DOMAIN.expand({**cell, "evals": ["calibration", "pgd", "pgd:steps=20", "ood:noise"]})
    assert [s.key for s in with_evals[:len(plain)]] == [s.key for s in plain]
    evals = with_evals[len(plain):]
    assert [s.kind for s in evals] == ["eval"] * 3  # "pgd:steps=20" is "pgd" (20 is the default)
    assert [dict(s.identity) for s in evals] == [{"eval": {"name": "calibration"}}, {"eval": {"name": "pgd"}},
                                                 {"eval": {"name": "ood", "dataset": "noise"}}]
    assert all(s.deps == {"run": plain[-1].key} for s in evals)
    with pytest.raises(UserError, match="unknown evaluation 'ece'"):
        DOMAIN.expand({**cell, "evals": ["ece"]})
