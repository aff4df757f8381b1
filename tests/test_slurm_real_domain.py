"""The real pruning domain through SLURM: a tiny synthetic study (LeNet-300-100, one epoch) is
submitted with `--executor slurm`, its ticket waits for the dense pretraining through an afterok
dependency, and `tickets study status` ingests both runs into the store."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest_plugins = ("slurm_cluster",)  # the test-cluster fixtures: one cluster per session

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

STUDY = """\
from tickets.study import Grid, Study

study = Study(
    "slurm_synthetic",
    Grid(datasets=["synthetic"], models=["lenet300"], methods=["lt"], sparsities=[0.9], seeds=[0],
         train={"epochs": 1, "batch_size": 128}),
)
"""


def test_synthetic_study_completes_on_slurm_and_is_ingested(slurm, tmp_path, monkeypatch):
    monkeypatch.setenv("TICKETS_SLURM_TIME", "10")
    env = dict(os.environ)
    study = tmp_path / "synthetic.py"
    study.write_text(STUDY)
    home = Path(env["TICKETS_HOME"])

    def tickets(*args):
        return subprocess.run([sys.executable, "-m", "tickets.cli.main", *args], env=env, capture_output=True,
                              text=True, timeout=120)

    out = tickets("study", "run", str(study), "--executor", "slurm")
    assert out.returncode == 0, out.stderr
    assert "submitted 2 stages" in out.stderr
    runs = sorted(home.glob("runs/*/submitted.json"))
    assert len(runs) == 2
    slurm.wait_until(lambda: all((p.parent / "result.json").exists() for p in runs), timeout=240, interval=1,
                     what="the pretraining and the ticket to finish on SLURM")
    status = tickets("study", "status", str(study))
    assert status.returncode == 0, status.stdout + status.stderr
    assert "ingested 2 finished runs" in status.stdout

    from registry.store import Store

    frame = Store(home).frame("SELECT method, sparsity, test_acc, achieved_sparsity FROM run_results ORDER BY method")
    assert list(frame["method"]) == ["dense", "lt"]
    assert frame["test_acc"].notna().all()
    assert abs(float(frame.loc[frame.method == "lt", "achieved_sparsity"].iloc[0]) - 0.9) < 0.01
