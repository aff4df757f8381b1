"""The test SLURM itself: a batch job runs end to end on it (the executor tests build on this)."""
from __future__ import annotations

import pytest

pytest_plugins = ("slurm_cluster",)  # the test-cluster fixtures: one cluster per session

pytestmark = pytest.mark.slurm


def test_sbatch_wrap_runs_end_to_end(slurm, tmp_path):
    out = tmp_path / "out.txt"
    job = slurm.run("sbatch", "--parsable", "-o", str(out), "--wrap", "hostname; echo ok-$SLURM_JOB_ID").stdout.strip()
    slurm.wait_until(lambda: slurm.job_state(job) == "COMPLETED", timeout=30, what=f"job {job} to complete")
    lines = out.read_text().split()
    assert lines[-1] == f"ok-{job}"
    assert slurm.run("sinfo", "-h", "-o", "%P %a").stdout.split() == ["debug*", "up"]
