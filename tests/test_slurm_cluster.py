"""The test SLURM itself: a batch job runs end to end on it, and requeue restarts a job quickly
(the executor tests depend on both)."""
from __future__ import annotations

import pytest

from slurm_cluster import slurm, slurm_cluster_session  # noqa: F401  (pytest fixtures)

pytestmark = pytest.mark.slurm


def test_sbatch_wrap_runs_end_to_end(slurm, tmp_path):
    out = tmp_path / "out.txt"
    job = slurm.run("sbatch", "--parsable", "-o", str(out), "--wrap", "hostname; echo ok-$SLURM_JOB_ID").stdout.strip()
    slurm.wait_until(lambda: slurm.job_state(job) == "COMPLETED", timeout=30, what=f"job {job} to complete")
    lines = out.read_text().split()
    assert lines[-1] == f"ok-{job}"
    assert slurm.run("sinfo", "-h", "-o", "%P %a").stdout.split() == ["debug*", "up"]


def test_requeued_job_starts_again_within_seconds(slurm, tmp_path):
    out = tmp_path / "out.txt"
    job = slurm.run("sbatch", "--parsable", "--requeue", "-o", str(out), "--open-mode=append",
                    "--wrap", "echo run-$SLURM_RESTART_COUNT; sleep 300").stdout.strip()
    slurm.wait_until(lambda: out.exists() and "run-" in out.read_text(), timeout=30, what="first start")
    slurm.run("scontrol", "requeue", job)
    slurm.wait_until(lambda: "run-1" in out.read_text(), timeout=40, what="restart after requeue")
    slurm.run("scancel", job)
    slurm.wait_until(lambda: slurm.job_state(job) in ("CANCELLED", ""), timeout=20, what="cancel")
