"""SLURM executor fixes found by review, each on the real test cluster: concurrent submissions
submit once, arrays stay under MaxArraySize, a time limit beyond the partition's is refused, job
queries never depend on resource settings, and a job that ended without a result says why."""
from __future__ import annotations

import subprocess
import sys

import pytest

from test_slurm_executor import (env, home, slurm_jobs, submitted_records, tickets,  # noqa: F401
                                 write_study)

pytest_plugins = ("slurm_cluster",)
pytestmark = pytest.mark.slurm


def _run(env, study, *extra):
    return subprocess.Popen([sys.executable, "-m", "tickets.cli.main", "study", "run", str(study),
                             "--executor", "slurm", *extra], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def test_two_submissions_at_once_submit_each_stage_once(env, slurm, tmp_path, monkeypatch):  # noqa: F811
    """Two launches race (a slow sbatch widens the window between reading the records and writing
    them): every stage is still submitted exactly once."""
    import threading
    import time

    import registry.executors.slurm as slurm_executor
    from registry.atomic import write_json
    from registry.executors import Job

    monkeypatch.setenv("TICKETS_SLURM_SBATCH", "--hold")
    real_submit = slurm_executor.SlurmExecutor._submit

    def slow_submit(self, group, deps, folder):
        time.sleep(1.0)
        return real_submit(self, group, deps, folder)

    monkeypatch.setattr(slurm_executor.SlurmExecutor, "_submit", slow_submit)
    jobs = []
    for i in range(3):
        rundir = tmp_path / "home" / "runs" / f"k{i}"
        write_json(rundir / "stage.json", {"key": f"k{i}", "deps": {}, "dep_dirs": {}})
        jobs.append(Job(key=f"k{i}", rundir=rundir))
    submitted: list[str] = []

    def launch():
        slurm_executor.SlurmExecutor(options={"time": 10}).launch(
            jobs, lambda event, job, info: submitted.append(job.key) if event == "submitted" else None)

    threads = [threading.Thread(target=launch) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(submitted) == ["k0", "k1", "k2"]  # not twice
    assert len(slurm_jobs(slurm)) == 3
    slurm.run("scancel", *{r["array_job_id"] for r in submitted_records().values()})


def test_a_large_group_is_split_under_max_array_size(env, slurm, tmp_path, monkeypatch):  # noqa: F811
    import registry.executors.slurm as slurm_executor
    from registry.executors import Job
    from registry.atomic import write_json

    assert slurm_executor.max_array_size() == 1000  # SLURM's default MaxArraySize 1001, read from the cluster
    monkeypatch.setattr(slurm_executor, "max_array_size", lambda: 2)
    monkeypatch.setenv("TICKETS_SLURM_SBATCH", "--hold")
    jobs = []
    for i in range(5):
        rundir = tmp_path / "home" / "runs" / f"k{i}"
        write_json(rundir / "stage.json", {"key": f"k{i}", "deps": {}, "dep_dirs": {}})
        jobs.append(Job(key=f"k{i}", rundir=rundir))
    submitted = []
    slurm_executor.SlurmExecutor(options={"time": 10}).launch(
        jobs, lambda event, job, info: submitted.append(info) if event == "submitted" else None)
    arrays = {r["array_job_id"] for r in submitted}
    assert len(submitted) == 5 and len(arrays) == 3  # 2 + 2 + 1
    slurm.run("scancel", *arrays)


def test_a_time_limit_beyond_the_partition_is_refused(env, slurm, tmp_path):  # noqa: F811
    study = write_study(tmp_path, "toolong")
    slurm.run("scontrol", "update", "PartitionName=debug", "MaxTime=5")
    try:
        out = tickets(env, "study", "run", str(study), "--executor", "slurm", "-X", "time=10")
    finally:
        slurm.run("scontrol", "update", "PartitionName=debug", "MaxTime=INFINITE")
    assert out.returncode == 2
    assert "time 10 min exceeds partition 'debug''s limit of 5 min" in out.stderr
    assert not submitted_records() and not slurm_jobs(slurm)


def test_status_and_cancel_work_whatever_the_resource_settings(env, slurm, tmp_path):  # noqa: F811
    study = write_study(tmp_path, "badenv")
    held = {**env, "TICKETS_SLURM_SBATCH": "--hold"}
    assert tickets(held, "study", "run", str(study), "--executor", "slurm").returncode == 0
    broken = {**env, "TICKETS_SLURM_TIME": "2"}  # too short to submit, irrelevant to asking
    status = tickets(broken, "study", "status", str(study))
    assert status.returncode == 0, status.stderr
    assert "│ stages │     3 │    0 │       3 │" in status.stdout  # all three still running (queued)
    cancel = tickets(broken, "study", "cancel", str(study))
    assert cancel.returncode == 0 and "cancelled 3 of 3" in cancel.stdout
    assert not [j for j in slurm_jobs(slurm) if "PENDING" in j or "RUNNING" in j]


def test_a_job_that_ended_without_a_result_says_why(env, slurm, tmp_path):  # noqa: F811
    study = write_study(tmp_path, "broken")
    out = tickets(env, "study", "run", str(study), "--executor", "slurm", "-X", "setup=exit 3")
    assert out.returncode == 0, out.stderr
    import time

    deadline = time.time() + 60
    while time.time() < deadline and any("PENDING" in j or "RUNNING" in j for j in slurm_jobs(slurm)):
        time.sleep(0.5)
    status = tickets(env, "study", "status", str(study))
    assert "job ended without a result" in status.stdout and "exit=3:0" in status.stdout, status.stdout
