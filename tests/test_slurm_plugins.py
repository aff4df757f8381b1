"""A study's own model (a plugin file) through a real SLURM: the node knows only the run directory,
so stage.json must carry the plugin and the worker import it before the domain."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

pytest_plugins = ("slurm_cluster",)

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

PLUGIN = '''
from torch import nn
from tickets.models import register_model

@register_model("{name}", family="tinymlp")
def build(info):
    return nn.Sequential(nn.Flatten(), nn.Linear(info.channels * info.size * info.size, 32), nn.ReLU(),
                         nn.Linear(32, info.num_classes))
'''

STUDY = '''
from tickets.study import Grid, Study
study = Study("slurm_plugin", Grid(datasets=["synthetic"], models=["{name}"], methods=["dense"], sparsities=[0],
                                   seeds=[0], train={{"epochs": 1, "batch_size": 128}}),
              plugins=["plugin_models.py"])
'''


def test_a_plugin_model_trains_on_slurm(slurm, tmp_path, monkeypatch):
    monkeypatch.setenv("TICKETS_SLURM_TIME", "10")
    name = f"slurmnet_{uuid.uuid4().hex[:6]}"
    (tmp_path / "plugin_models.py").write_text(PLUGIN.format(name=name))
    study = tmp_path / "study.py"
    study.write_text(STUDY.format(name=name))
    env = dict(os.environ)
    home = Path(env["TICKETS_HOME"])

    def tickets(*args):
        return subprocess.run([sys.executable, "-m", "tickets.cli.main", *args], env=env, capture_output=True,
                              text=True, timeout=120)

    out = tickets("study", "run", str(study), "--executor", "slurm")
    assert out.returncode == 0, out.stderr
    (submitted,) = home.glob("runs/*/submitted.json")
    rundir = submitted.parent
    slurm.wait_until(lambda: (rundir / "result.json").exists() or (rundir / "error.json").exists(), timeout=240,
                     interval=1, what="the plugin model's run to finish on SLURM")
    assert (rundir / "result.json").exists(), (rundir / "error.json").read_text()
    status = tickets("study", "status", str(study))
    assert status.returncode == 0 and "ingested 1 finished runs" in status.stdout, status.stdout + status.stderr
