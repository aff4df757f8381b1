"""One run as a 2-task SLURM job on the test suite's real single-node SLURM: `study run --executor
slurm -X tasks_per_node=2` submits one job whose two srun tasks are one torch agent each (task 0
holds the lease and publishes, task 1 joins); the result is ingested with world_size 2."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest_plugins = ("slurm_cluster",)

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

STUDY = """\
from tickets.study import Grid, Study

study = Study("slurm_ddp", Grid(datasets=["synthetic"], models=["lenet300"], methods=["dense"],
                                sparsities=[0.0], seeds=[0], train={"epochs": 1, "batch_size": 64}))
"""


def test_a_two_task_job_trains_one_run_as_two_ranks(slurm, tmp_path, monkeypatch):
    monkeypatch.setenv("TICKETS_SLURM_TIME", "10")
    env = dict(os.environ)
    study = tmp_path / "ddp.py"
    study.write_text(STUDY)
    home = Path(env["TICKETS_HOME"])

    def tickets(*args):
        return subprocess.run([sys.executable, "-m", "tickets.cli.main", *args], env=env, capture_output=True,
                              text=True, timeout=120)

    out = tickets("study", "run", str(study), "--executor", "slurm", "-X", "tasks_per_node=2")
    assert out.returncode == 0, out.stderr
    (submitted,) = home.glob("runs/*/submitted.json")
    record = json.loads(submitted.read_text())
    assert record["resources"]["world_size"] == 2 and record["resources"]["tasks_per_node"] == 2
    rundir = submitted.parent
    slurm.wait_until(lambda: (rundir / "result.json").exists() or (rundir / "error.json").exists(),
                     timeout=300, interval=1, what="the 2-task run to finish on SLURM")
    assert not (rundir / "error.json").exists(), (rundir / "error.json").read_text()
    meta = json.loads((rundir / "meta.json").read_text())
    assert meta["world_size"] == 2 and meta["backend"] == "gloo"
    assert (rundir / "worker-task1.log").exists()  # the second task started its rank
    status = tickets("study", "status", str(study))
    assert status.returncode == 0 and "ingested 1 finished run" in status.stdout, status.stdout
    from registry.store import Store

    frame = Store(home).frame("SELECT world_size, backend FROM runs")
    assert frame.to_dict("records") == [{"world_size": 2, "backend": "gloo"}]
    slurm.wait_until(slurm.queue_empty, timeout=60, what="the job to leave the queue (no task left hanging)")


FAKE_STUDY = """\
from tickets.study import Grid, Study

study = Study("slurm_ddp_usr2", Grid(datasets=["d1"], models=["m1"], methods=["dense"], sparsities=[0.0],
                                     seeds=[0], train={"epochs": 5, "sleep": 0.6}),
              domain="fake_domain:DOMAIN")
"""


def test_usr2_requeues_a_two_task_job_which_resumes_from_its_checkpoint(slurm, tmp_path, monkeypatch):
    """Preemption / time limit of a multi-task job: USR2 reaches every task, task 0 stops its worker
    (and so all its ranks), frees the lease and requeues; the requeued job's two tasks resume the
    stage from its last epoch (the registry's fake domain: no torch in the ranks, seconds per run)."""
    tests = Path(__file__).resolve().parent
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(tests), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("TICKETS_SLURM_TIME", "10")
    env = dict(os.environ)
    study = tmp_path / "usr2.py"
    study.write_text(FAKE_STUDY)
    home = Path(env["TICKETS_HOME"])
    out = subprocess.run([sys.executable, "-m", "tickets.cli.main", "study", "run", str(study), "--executor", "slurm",
                          "-X", "tasks_per_node=2"], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    (submitted,) = home.glob("runs/*/submitted.json")
    rundir, job = submitted.parent, json.loads(submitted.read_text())["job_id"]
    metrics = rundir / "metrics.jsonl"

    def epochs():
        return len(metrics.read_text().splitlines()) if metrics.exists() else 0

    slurm.wait_until(lambda: epochs() >= 2, timeout=120, interval=0.2, what="two epochs of the 2-task run")
    slurm.run("scancel", "--signal=USR2", job)
    slurm.wait_until(lambda: (rundir / "result.json").exists() or (rundir / "error.json").exists(),
                     timeout=240, interval=1, what="the requeued 2-task run to finish")
    assert not (rundir / "error.json").exists(), (rundir / "error.json").read_text()
    assert "Restarts=1" in slurm.run("scontrol", "-o", "show", "job", job).stdout
    rows = [json.loads(line) for line in metrics.read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2, 3, 4, 5]
    assert json.loads((rundir / "meta.json").read_text())["world_size"] == 2
    slurm.wait_until(slurm.queue_empty, timeout=60, what="the job to leave the queue (no task left hanging)")
