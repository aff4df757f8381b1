"""Trackers as sinks (registry/track, issue 21): a sweep with `-X track=...` feeds TensorBoard,
MLflow and W&B (offline), read back with each tracker's own reader; `tickets export` backfills the
same idempotently; a broken or slow tracker never fails or holds up a run."""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from registry.errors import UserError
from registry.track import base, sink as sinks
from tickets.cli.main import cli

TESTS = Path(__file__).parent
STUDY = """
from tickets.study import Grid, Study
TRAIN = {"epochs": 3, "sleep": 0}
study = Study("tracked",
    Grid(datasets=["d1"], models=["m1"], methods=["dense"], sparsities=[0], seeds=[0], train=TRAIN),
    Grid(datasets=["d1"], models=["m1"], methods=["rand"], sparsities=[0.9], seeds=[0], train=TRAIN),
    domain="fake_domain:DOMAIN")
"""


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("TICKETS_TRACK_TIMEOUT", "300")  # the test reads what was written: let it all land
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # this test's own mlflow.search_runs on a file store
    for name in ("MLFLOW_TRACKING_URI", "WANDB_MODE", "WANDB_DIR", "TICKETS_TENSORBOARD_DIR"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "tracked.py"
    path.write_text(STUDY)
    return path


def test_tracker_names_parse_and_bad_ones_are_one_line():
    assert base.parse("tensorboard, mlflow:sqlite:///m.db") == [("tensorboard", None), ("mlflow", "sqlite:///m.db")]
    assert base.parse(["wandb", "wandb:online"]) == [("wandb", "online")]
    with pytest.raises(UserError, match="unknown tracker 'neptune'; known: tensorboard, mlflow, wandb"):
        base.parse("neptune")
    from tickets.study import Grid, Study

    study = Study("s", Grid(datasets=["synthetic"], models=["lenet300"], methods=["dense"], sparsities=[0]),
                  track="tensorboard")
    assert study.track == ("tensorboard",)


def test_readable_names_and_flat_params():
    columns = {"dataset": "cifar10", "model": "vgg19", "method": "snip", "check": "corrupt", "sparsity": 0.9,
               "seed": 0, "variant": ""}
    assert base.readable_name(columns) == "snip corrupt 90% seed 0"
    assert base.readable_name({**columns, "method": "dense", "check": "none", "sparsity": 0.0}) == "dense seed 0"
    params = base.params_of(columns, {"method": {"name": "snip", "rule": "smart"}, "train": {"lr": 0.1,
                                                                                              "milestones": [80, 120]}})
    assert params["method"] == "snip" and params["rule"] == "smart" and params["train.lr"] == 0.1
    assert params["train.milestones"] == "80,120" and params["sparsity"] == 0.9


def test_a_missing_tracker_library_says_how_to_install_it(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else real(name, *a))
    assert base.missing_library("wandb") == ('tracker wandb is not installed; pip install "tickets[wandb]" '
                                             '(training goes on without it)')


def _info():
    return base.RunInfo("k" * 16, "ticket", "snip 90% seed 0", "s", {"method": "snip"}, {})


def test_a_failing_tracker_is_one_warning_and_the_run_goes_on(monkeypatch, capsys):
    calls = []

    class Flaky:
        def epoch(self, phase, epoch, metrics):
            calls.append(epoch)
            raise ConnectionError("no network\nsecond line")

        def finish(self, summary, layers, failed):
            calls.append("finish")

    monkeypatch.setattr(sinks, "factory", lambda name: lambda target, info: Flaky())
    monkeypatch.setattr(sinks, "missing_library", lambda name: None)
    sink = sinks.Sink([("mlflow", None)], _info)
    for epoch in range(3):
        sink.event({"event": "epoch", "phase": "retrain", "epoch": epoch, "test_acc": 50.0})
    sink.finish({"test_acc": 50.0})
    assert calls == [0]  # dropped after its first error
    err = capsys.readouterr().err
    assert err.count("warning:") == 1 and "tracker mlflow failed (ConnectionError: no network)" in err


def test_a_tracker_that_cannot_start_is_one_warning(monkeypatch, capsys):
    def broken(target, info):
        raise ValueError("bad URI 'nowhere://'")

    monkeypatch.setattr(sinks, "factory", lambda name: broken)
    monkeypatch.setattr(sinks, "missing_library", lambda name: None)
    sink = sinks.Sink([("mlflow", "nowhere://")], _info)
    sink.event({"event": "epoch", "phase": "retrain", "epoch": 0, "test_acc": 50.0})
    sink.finish({"test_acc": 50.0})
    err = capsys.readouterr().err
    assert err.count("warning:") == 1 and "tracker mlflow failed to start (ValueError: bad URI" in err


def test_a_slow_tracker_never_holds_up_the_training(monkeypatch, capsys):
    release, entered, delivered = threading.Event(), threading.Event(), []

    class Slow:
        def epoch(self, phase, epoch, metrics):
            entered.set()
            release.wait(60)
            delivered.append(epoch)

        def finish(self, summary, layers, failed):
            delivered.append("finish")

    monkeypatch.setattr(sinks, "factory", lambda name: lambda target, info: Slow())
    monkeypatch.setattr(sinks, "missing_library", lambda name: None)
    sink = sinks.Sink([("wandb", None)], _info)
    for epoch in range(5):  # returns while the tracker is still stuck on the first epoch
        sink.event({"event": "epoch", "phase": "retrain", "epoch": epoch, "test_acc": 50.0})
    assert entered.wait(60)  # the tracker is made (with the patched factory) and stuck in its first epoch
    assert delivered == []
    sink._put(("finish", {}, None))
    sink.close(timeout=0)  # the run ends without waiting for it...
    assert "did not finish within 0 s" in capsys.readouterr().err
    release.set()  # ...and the tracker catches up in the background


def _tensorboard(folder: Path) -> dict:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "tensors": 0})
    acc.Reload()
    return {tag: [(s.step, s.value) for s in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


@pytest.mark.slow
def test_a_tracked_sweep_reads_back_in_all_three_and_export_is_idempotent(tmp_path, env):
    pytest.importorskip("tensorboard")
    mlflow = pytest.importorskip("mlflow")
    pytest.importorskip("wandb")
    import wandb_offline

    home = tmp_path / "home"
    store_uri = (tmp_path / "mlruns").as_uri()
    runner = CliRunner()
    out = runner.invoke(cli, ["--home", str(home), "study", "run", str(env), "-X",
                              f"track=tensorboard,mlflow:{store_uri},wandb:offline"])
    assert out.exit_code == 0, out.output

    # TensorBoard: one folder per run under the study, curves per phase
    folders = sorted((home / "tensorboard" / "tracked").iterdir())
    assert [f.name.rsplit(" [", 1)[0] for f in folders] == ["dense seed 0", "rand 90% seed 0"]
    scalars = _tensorboard(folders[1])
    assert [step for step, _ in scalars["ticket/test_acc"]] == [1, 2, 3]
    assert scalars["ticket/test_acc"][0][1] == pytest.approx(50.0 + 10 * 0 - 20 * 0.9 + 1 / 3)
    assert "final/test_acc" in scalars and "layers/keep_ratio" in scalars

    # MLflow: the study's experiment, params for grouping, curves with the epoch as step
    mlflow.set_tracking_uri(store_uri)
    runs = mlflow.search_runs(experiment_names=["tracked"])
    assert sorted(runs["tags.mlflow.runName"]) == ["dense seed 0", "rand 90% seed 0"]
    rand = runs[runs["params.method"] == "rand"].iloc[0]
    assert rand["params.sparsity"] == "0.9" and rand["status"] == "FINISHED"
    assert len(rand["tags.tickets.key"]) == 16 and rand["tags.tickets.studies"] == "tracked"
    assert len(rand["tags.tickets.env_hash"]) == 16  # provenance, complete at the end of the run
    history = mlflow.tracking.MlflowClient(store_uri).get_metric_history(rand["run_id"], "ticket/test_acc")
    assert [m.step for m in sorted(history, key=lambda m: m.step)] == [1, 2, 3]

    # W&B offline: id = run key, readable name, group = study, config and history
    (offline,) = [p for p in (home / "wandb").glob("offline-run-*") if p.name.endswith(rand["tags.tickets.key"])]
    recorded = wandb_offline.read_run(offline)
    assert recorded["run"] == {"id": rand["tags.tickets.key"], "name": "rand 90% seed 0", "group": "tracked"}
    assert recorded["config"]["method"] == "rand" and recorded["config"]["sparsity"] == 0.9
    assert [h["ticket/epoch"] for h in recorded["history"] if "ticket/epoch" in h] == [1, 2, 3]
    assert recorded["summary"]["final/test_acc"] == pytest.approx(scalars["final/test_acc"][0][1])

    # Backfill into fresh places, twice: each run once
    for _ in range(2):
        for args in (["tensorboard", "--to", str(tmp_path / "tb2")], ["mlflow", "--to", str(tmp_path / "ml2")],
                     ["wandb", "--study", "tracked"]):
            out = runner.invoke(cli, ["--home", str(home), "export", *args])
            assert out.exit_code == 0, out.output
    assert len(list((tmp_path / "tb2" / "tracked").iterdir())) == 2
    assert _tensorboard(next((tmp_path / "tb2" / "tracked").glob("rand*")))["ticket/test_acc"] == scalars["ticket/test_acc"]
    mlflow.set_tracking_uri((tmp_path / "ml2").as_uri())
    again = mlflow.search_runs(experiment_names=["tracked"])
    assert sorted(again["tags.mlflow.runName"]) == ["dense seed 0", "rand 90% seed 0"]
    assert len(list((home / "wandb").glob("offline-run-*"))) == 2  # the live runs already had them
    out = runner.invoke(cli, ["--home", str(home), "export", "mlflow", "--to", str(tmp_path / "ml2")])
    assert "exported 0 runs to mlflow, 2 already there" in out.output


def test_export_without_the_extra_says_how_to_install_it(tmp_path, monkeypatch):
    import importlib.util

    from registry.store import Store

    home = tmp_path / "home"
    with Store(home).writer():
        pass
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mlflow" else real(name, *a))
    out = CliRunner().invoke(cli, ["--home", str(home), "export", "mlflow"])
    assert out.exit_code == 2 and 'pip install "tickets[mlflow]"' in out.output


@pytest.mark.slow
def test_a_packed_sweep_of_the_real_domain_logs_each_member_once(tmp_path, monkeypatch):
    """Two stages trained as one stacked model, one process: two TensorBoard runs with their own curves."""
    pytest.importorskip("tensorboard")
    monkeypatch.setenv("TICKETS_TRACK_TIMEOUT", "300")
    monkeypatch.delenv("TICKETS_TENSORBOARD_DIR", raising=False)
    study = tmp_path / "packed.py"
    study.write_text("from tickets.study import Grid, Study\n"
                     "study = Study('packed', Grid(datasets=['synthetic'], models=['lenet300'], "
                     "methods=['random_tickets'], sparsities=[0.5], seeds=[0, 1], train={'epochs': 2}))\n")
    home = tmp_path / "home"
    out = CliRunner().invoke(cli, ["--home", str(home), "study", "run", str(study), "--share", "packed",
                                   "--runs-per-gpu", "2", "-X", "track=tensorboard"])
    assert out.exit_code == 0, out.output
    import json

    metas = [json.loads(p.read_text()) for p in (home / "runs").glob("*/meta.json")]
    assert [m.get("packed_with") for m in metas] == [2, 2]
    folders = sorted((home / "tensorboard" / "packed").iterdir())
    assert [f.name.rsplit(" [", 1)[0] for f in folders] == ["random_tickets 50% seed 0", "random_tickets 50% seed 1"]
    curves = [_tensorboard(f) for f in folders]
    assert all([s for s, _ in c["retrain/test_acc"]] == [1, 2] for c in curves)
    assert all(c["retrain/sparsity"][0][1] == pytest.approx(0.5, abs=0.01) for c in curves)
    assert curves[0]["retrain/test_acc"] != curves[1]["retrain/test_acc"]  # each member its own numbers


def test_an_evaluation_joins_the_evaluated_runs_summary(tmp_path, monkeypatch):
    """Evaluation stages have no curve of their own: their metrics land in the trained run's summary."""
    pytest.importorskip("tensorboard")
    from registry.atomic import write_json

    monkeypatch.setenv("TICKETS_TRACK", "tensorboard")
    monkeypatch.delenv("TICKETS_TENSORBOARD_DIR", raising=False)
    home = tmp_path / "home"
    columns = {"dataset": "cifar10", "model": "vgg19", "method": "snip", "check": "none", "sparsity": 0.9,
               "seed": 0, "variant": ""}
    trained = {"key": "t" * 16, "kind": "ticket", "columns": columns, "spec": {}}
    write_json(home / "runs" / trained["key"] / "stage.json", trained)
    write_json(home / "runs" / trained["key"] / "studies.json", ["s"])
    evaluation = {"key": "e" * 16, "kind": "eval", "columns": columns, "spec": {}, "deps": {"run": trained["key"]}}
    write_json(home / "runs" / evaluation["key"] / "stage.json", evaluation)
    sink = sinks.sink_for(evaluation, home / "runs" / evaluation["key"])
    sink.finish({"evals": [{"eval": "calibration", "metric": "ece", "value": 0.031}], "run_key": trained["key"]})
    (folder,) = (home / "tensorboard" / "s").iterdir()
    assert folder.name == "snip 90% seed 0 [tttttttt]"
    assert _tensorboard(folder)["final/eval/calibration/ece"][0][1] == pytest.approx(0.031)


def test_an_unknown_tracker_on_the_command_line_is_one_line_and_writes_nothing(tmp_path):
    home = tmp_path / "home"
    out = CliRunner().invoke(cli, ["--home", str(home), "run", "--dataset", "synthetic", "--model", "lenet300",
                                   "--method", "dense", "--set", "epochs=1", "--track", "neptune"])
    assert out.exit_code == 2 and "unknown tracker 'neptune'; known: tensorboard, mlflow, wandb" in out.output
    assert not (home / "runs").exists()
