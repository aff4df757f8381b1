"""End-to-end sweeps with the fake domain: dedupe, rerun, SIGKILL + resume, two schedulers, failures."""
from __future__ import annotations

import collections
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from registry.store import Store
from tickets.cli.main import cli

TESTS = Path(__file__).parent
STUDY = """
from tickets.study import Grid, Study
TRAIN = {{"epochs": 4, "sleep": {sleep}}}
study = Study("few",
    Grid(datasets=["d1"], models=["m1"], methods=["dense"], sparsities=[0], seeds=[0, 1], train=TRAIN),
    Grid(datasets=["d1"], models=["m1"], methods=["lt", "rand"], sparsities=[0.5, 0.9], seeds=[0, 1], train=TRAIN),
    domain="fake_domain:DOMAIN")
"""


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("FAKE_DOMAIN_LOG", str(tmp_path / "executions.log"))
    return tmp_path


def _study(tmp_path: Path, sleep: float = 0.03, text: str = STUDY) -> Path:
    path = tmp_path / "few.py"
    path.write_text(text.format(sleep=sleep))
    return path


def _log(tmp_path: Path) -> collections.Counter:
    path = tmp_path / "executions.log"
    return collections.Counter(path.read_text().splitlines()) if path.exists() else collections.Counter()


def _tickets(*args: str, home: Path) -> list[str]:
    return [sys.executable, "-m", "tickets.cli.main", "--home", str(home), *args]


def _results(home: Path):
    return Store(home).frame("SELECT key, kind, status, test_acc, best_test_acc FROM run_results ORDER BY key")


def test_study_runs_and_a_rerun_executes_nothing(env):
    study, home = _study(env), env / "home"
    runner = CliRunner()
    out = runner.invoke(cli, ["--home", str(home), "study", "plan", str(study)])
    assert out.exit_code == 0, out.output
    assert "10 stages with shared pretraining; 14 training runs without sharing" in out.output
    out = runner.invoke(cli, ["--home", str(home), "study", "run", str(study), "--workers", "2"])
    assert out.exit_code == 0, out.output
    log = _log(env)
    assert sum(1 for line in log if line.startswith("start")) == 10 and set(log.values()) == {1}
    assert len(_results(home)) == 10 and set(_results(home)["status"]) == {"done"}

    out = runner.invoke(cli, ["--home", str(home), "study", "run", str(study)])
    assert out.exit_code == 0 and "nothing to run: 10/10 stages done" in out.output
    assert _log(env) == log

    # tickets sql answers a join over runs, epochs and layers
    query = ("SELECT r.method, r.sparsity, count(DISTINCT e.epoch) AS epochs, max(l.kept) AS kept "
             "FROM runs r JOIN epochs e ON e.key = r.key JOIN layers l ON l.key = r.key "
             "WHERE r.method = 'lt' GROUP BY ALL ORDER BY r.sparsity")
    out = runner.invoke(cli, ["--home", str(home), "sql", query, "--format", "csv"])
    assert out.exit_code == 0, out.output
    assert out.output.splitlines() == ["method,sparsity,epochs,kept", "lt,0.5,4,10", "lt,0.9,4,2"]
    out = runner.invoke(cli, ["--home", str(home), "runs", "ls", "--method", "rand", "--format", "json"])
    assert out.exit_code == 0 and out.output.count('"key"') == 4
    key = _results(home)["key"][0]
    out = runner.invoke(cli, ["--home", str(home), "runs", "show", key[:6]])
    assert out.exit_code == 0 and key in out.output and "epochs" in out.output
    out = runner.invoke(cli, ["--home", str(home), "study", "status", str(study)])
    assert out.exit_code == 0 and "10 stages" in out.output


KILL_SLEEP = 0.5  # seconds per fake epoch (4 epochs a stage) in the kill tests
SMALL = """
from tickets.study import Grid, Study
TRAIN = {{"epochs": 4, "sleep": {sleep}}}
study = Study("small",
    Grid(datasets=["d1"], models=["m1"], methods=["lt", "rand"], sparsities=[0.5, 0.9], train=TRAIN),
    domain="fake_domain:DOMAIN")
"""


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The small study run once without interruption: the metrics every resumed sweep must match."""
    root = tmp_path_factory.mktemp("reference")
    study = _study(root, sleep=KILL_SLEEP, text=SMALL)
    env = {**os.environ, "PYTHONPATH": str(TESTS), "FAKE_DOMAIN_LOG": str(root / "log")}
    done = subprocess.run(_tickets("study", "run", str(study), "--workers", "2", home=root / "home"),
                          capture_output=True, env=env)
    assert done.returncode == 0, done.stderr
    return root / "home"


@pytest.mark.parametrize("victim", ["scheduler", "group"])
def test_sigkill_at_a_random_moment_then_rerun_finishes_every_cell_once(env, reference, victim):
    study, home = _study(env, sleep=KILL_SLEEP, text=SMALL), env / "home"
    proc = subprocess.Popen(_tickets("study", "run", str(study), "--workers", "2", home=home),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    # A moment drawn once per victim (reproducible), mid-sweep: stages take ~2 s each, so orphaned
    # workers are still inside a stage, under its lease, when the rerun starts.
    time.sleep(random.Random(victim).uniform(2.0, 4.0))
    if victim == "group":  # scheduler and its workers: runs are cut mid-epoch and must resume
        os.killpg(proc.pid, signal.SIGKILL)
    else:  # only the scheduler: orphan workers finish under their leases
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    rerun = subprocess.run(_tickets("study", "run", str(study), "--workers", "2", home=home),
                           capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr

    done = [line.split()[1] for line in _log(env).elements() if line.startswith("done")]
    if victim == "scheduler":
        assert sorted(done) == sorted(set(done)) and len(done) == 5  # every stage completed exactly once
    got, want = _results(home), _results(reference)
    assert len(got) == 5 and list(got["key"]) == list(want["key"]) and got.equals(want)
    epochs = "SELECT key, phase, epoch, train_loss, test_acc FROM epochs ORDER BY key, phase, epoch"
    assert Store(home).frame(epochs).equals(Store(reference).frame(epochs))
    assert Store(home).frame("SELECT count(*) - count(DISTINCT key) AS d FROM runs")["d"][0] == 0


def test_two_schedulers_started_together_never_run_a_stage_twice(env):
    study, home = _study(env, sleep=0.05, text=SMALL), env / "home"
    procs = [subprocess.Popen(_tickets("study", "run", str(study), "--workers", "2", home=home),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    starts = [line for line in _log(env).elements() if line.startswith("start")]
    assert len(starts) == 5 and len(set(starts)) == 5
    ran = [int(re.search(r"(\d+) ran now", out).group(1)) for out in outputs]
    assert sum(ran) == 5  # each scheduler counts only the stages it ran itself
    assert len(_results(home)) == 5


FAILING = """
from tickets.study import Grid, Study
OK = {{"epochs": 2, "sleep": {sleep}}}
study = Study("failing",
    Grid(datasets=["d1"], models=["m1"], methods=["rand"], sparsities=[0.5], train=OK),
    Grid(datasets=["d2"], models=["m1"], methods=["lt"], sparsities=[0.5], train={{**OK, "fail": True}}),
    Grid(datasets=["d2"], models=["m2"], methods=["rand"], sparsities=[0.9], train={{**OK, "nan": True}}),
    domain="fake_domain:DOMAIN")
"""


def test_failures_are_recorded_and_the_sweep_goes_on(env):
    study, home = _study(env, text=FAILING), env / "home"
    runner = CliRunner()
    out = runner.invoke(cli, ["--home", str(home), "study", "run", str(study)])
    assert out.exit_code == 1
    assert "told to fail" in out.output and "NaN loss: train_loss is nan" in out.output and "blocked" in out.output
    runs = Store(home).frame("SELECT dataset, model, kind, status, error, traceback FROM runs ORDER BY dataset, model, kind")
    assert list(runs["status"]) == ["done", "failed", "failed"]
    assert "RuntimeError: told to fail" in runs["error"][1] and "Traceback" in runs["traceback"][1]
    assert runs["error"][2].startswith("NaN loss")

    out = runner.invoke(cli, ["--home", str(home), "study", "status", str(study)])
    assert out.exit_code == 1 and "told to fail" in out.output
    before = _log(env)
    out = runner.invoke(cli, ["--home", str(home), "study", "run", str(study)])  # failed stay failed
    assert out.exit_code == 1 and _log(env) == before
    out = runner.invoke(cli, ["--home", str(home), "study", "run", str(study), "--retry-failed"])
    assert out.exit_code == 1
    starts = sum(1 for line in _log(env).elements() if line.startswith("start"))
    assert starts == sum(1 for line in before.elements() if line.startswith("start")) + 2
