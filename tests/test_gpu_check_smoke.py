"""bench/gpu_check.sh --cpu-smoke runs every section of the GPU check on the CPU and prints one table."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_gpu_check_cpu_smoke_prints_one_table_with_every_section(tmp_path):
    env = {**os.environ, "PYTHON": sys.executable, "OMP_NUM_THREADS": "1", "GPU_CHECK_WHEELS": str(tmp_path / "none")}
    proc = subprocess.run([str(ROOT / "bench" / "gpu_check.sh"), "--cpu-smoke", "--out", str(tmp_path)],
                          env=env, capture_output=True, text=True)  # no time limit: a loaded CI runner is slow
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("gpu_check on ") and "CPU SMOKE" in lines[0]
    assert lines[1].split()[:4] == ["section", "model", "way", "K"]
    rows = json.loads((tmp_path / "gpu_check.json").read_text())["rows"]
    assert len(lines) == 2 + len(rows)  # one table, nothing else on stdout
    ways = {(r["section"], r["model"], r["way"]) for r in rows}
    for model in ("resnet32", "vgg19"):
        for way in ("reference", "ours fp32", "ours tf32", "ours bf16", "ours bf16+fused"):
            assert ("speed", model, way) in ways
        assert ("share", model, "packed") in ways
    assert ("share", "resnet32", "processes") in ways
    speed = [r for r in rows if r["section"] == "speed" and r["way"] != "ours bf16+fused+compile"]
    assert all(r["img_s"] > 0 for r in speed), speed
    parity = {r["way"]: r for r in rows if r["section"] == "parity"}
    assert set(parity) == {"fp32", "bf16", "tf32"} and parity["bf16"]["verdict"] in ("agree", "DIFFER")
    cost = [r for r in rows if r["section"] == "cost"]
    assert cost and all(r["hours"] > 0 for r in cost) and "156 stages" in cost[0]["note"]
    calibration = json.loads((tmp_path / "calibration.json").read_text())
    assert {c["model"] for c in calibration.values()} == {"resnet32", "vgg19"}


def test_the_cpu_smoke_has_no_time_budget_so_a_loaded_machine_skips_no_section():
    """Under load 13-37 the smoke's 120 s budget skipped the parity section and the test failed: the
    rehearsal now ignores the budget (which is for the real GPU run) and runs every section."""
    import math

    from bench.gpu_check import Clock, settings

    class Args:
        cpu_smoke, budget = True, 1.0

    s = settings(Args())
    assert math.isinf(s.budget) and math.isinf(Clock(s.budget).left())
