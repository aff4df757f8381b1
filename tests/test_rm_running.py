"""`runs rm` by filter finds a stage that is running now (not in the store yet) and refuses it as
running, as `runs rm KEY` does, instead of saying that no run matches."""
from __future__ import annotations

import os

from click.testing import CliRunner

from registry import lease
from registry.atomic import write_json
from registry.domain import Stage
from tickets.cli.main import cli


def test_runs_rm_by_kind_of_a_running_pretraining_says_it_is_running(tmp_path):
    home = tmp_path / "home"
    identity = {"dataset": "d1", "model": "m1", "seed": 0}
    stage = Stage("pretrain", identity, identity, {**identity, "method": "dense", "check": "none", "sparsity": 0.0})
    rundir = home / "runs" / stage.key
    write_json(rundir / "stage.json", {"key": stage.key, "kind": "pretrain", "identity": identity, "spec": identity,
                                       "columns": dict(stage.columns), "deps": {}})
    held = lease.acquire(rundir)  # this process trains it now
    try:
        for args in (["--kind", "pretrain"], ["--dataset", "d1"], [stage.key[:8]]):
            result = CliRunner().invoke(cli, ["--home", str(home), "runs", "rm", *args, "--yes"])
            assert result.exit_code == 2, (args, result.output)
            assert result.output.strip().splitlines()[-1] == (
                f"error: run {stage.key} is running (lease held by pid {os.getpid()} on {os.uname().nodename}); "
                f"nothing removed"), args
        assert (rundir / "stage.json").exists()
    finally:
        lease.release(held)
