"""A key's metrics do not depend on how many workers shared the machine, and a resume runs under
the thread count its stage started with (issue 11, defect 3)."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from registry.atomic import write_json
from registry.domain import Stage
from registry.store import Store
from tickets.cli.main import cli
from test_registry_sweep import env  # noqa: F401  (fixture)


@pytest.mark.slow
def test_the_same_key_gives_bitwise_identical_metrics_with_one_or_two_workers(tmp_path, monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 2)  # the old split gave 2 threads to one worker, 1 to two
    args = ["run", "--dataset", "synthetic", "--model", "lenet300", "--method", "dense", "--set", "epochs=1"]
    frames = []
    for workers in ("1", "2"):
        home = tmp_path / f"home{workers}"
        out = CliRunner().invoke(cli, ["--home", str(home), *args, "--workers", workers])
        assert out.exit_code == 0, out.output
        frames.append(Store(home).frame("SELECT r.key, s.test_acc, s.train_loss, s.test_loss, e.train_loss AS e_loss "
                                        "FROM runs r JOIN results s USING (key) JOIN epochs e USING (key) ORDER BY e.epoch"))
    assert len(frames[0]) == 1 and frames[0].equals(frames[1])  # same key, same bits


def test_a_resume_runs_under_the_threads_its_stage_started_with(env, monkeypatch):  # noqa: F811
    from registry.worker import run_stage

    identity = {"dataset": "d1", "model": "m1", "seed": 0}
    stage = Stage("pretrain", identity, {**identity, "train": {"epochs": 2, "sleep": 0.0}}, identity)
    rundir = env / "home" / "runs" / stage.key
    write_json(rundir / "stage.json", {"key": stage.key, "kind": stage.kind, "spec": dict(stage.spec),
                                       "columns": dict(stage.columns), "deps": {}, "domain": "fake_domain:DOMAIN"})
    write_json(rundir / "meta.json", {"host": "h", "pid": 1, "started": 0.0, "threads": 2})  # killed attempt
    write_json(rundir / "ckpt.json", {"epoch": 1})
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # this worker's pool would give 1 thread
    assert run_stage(rundir) == 0
    assert json.loads((rundir / "env.json").read_text())["threads"] == 2
    assert json.loads((rundir / "meta.json").read_text())["threads"] == 2
    fresh = env / "home" / "runs" / "fresh"
    write_json(fresh / "stage.json", {**json.loads((rundir / "stage.json").read_text()), "key": "fresh"})
    assert run_stage(fresh) == 0  # a first attempt takes the worker's own count and records it
    assert json.loads((fresh / "meta.json").read_text())["threads"] == 1
