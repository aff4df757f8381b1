"""One run as two gloo ranks on the CPU, through `tickets study run --ranks-per-run 2`: real
processes started by torch's elastic agent (registry/ranks.py), DDP in the loop.

Tolerance of 2 ranks vs 1 process: the model (LeNet-300-100) has no BatchNorm, the data order and
augmentation are the same by construction (the loader's rank/world interface), and the loss is
scaled so the averaged gradient is the global batch's; what differs is only the order of float
additions (each rank sums its half of the batch, then gloo adds the halves). Over 2 epochs of 9
steps that moves losses in the 7th significant digit: we allow 1e-4 relative, and test accuracy
within one test image (256 images: 0.39 points). A killed-and-resumed 2-rank run must equal the
uninterrupted 2-rank run bitwise: same world size, same reduction order, same checkpoints; the
killed run also writes mid-epoch checkpoints (every 4 steps) and resumes from the one in epoch 2,
where only the epoch's running training-loss sum (float32 on the device) is added in another order
(rank 0 saved the ranks' all-reduced partial sums): weights, test metrics and accuracies stay
bitwise, the epoch's train loss to float32 rounding (1e-6 relative)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent
STUDY = """\
from tickets.study import Grid, Study

study = Study("ddp", Grid(datasets=["synthetic"], models=["lenet300"], methods=["dense"], sparsities=[0.0],
                          seeds=[0], train={train!r}), plugins={plugins!r})
"""
STEPS = 9  # ceil(512 / 63): the last global batch has 8 images, split 4 + 4; the others 32 + 31


def _run(tmp: Path, name: str, *extra: str, env: dict | None = None,
         train: dict | None = None) -> tuple[Path, subprocess.CompletedProcess]:
    study = tmp / f"{name}.py"
    study.write_text(STUDY.format(plugins=[str(HERE / "ddp_kill_plugin.py")],
                                  train={"epochs": 2, "batch_size": 63, **(train or {})}))
    home = tmp / name
    out = subprocess.run([sys.executable, "-m", "tickets.cli.main", "--home", str(home), "study", "run",
                          str(study), *extra], capture_output=True, text=True, timeout=400,
                         env={**os.environ, "TICKETS_DATA": str(tmp / "data"), **(env or {})})
    assert out.returncode == 0, out.stdout + out.stderr
    (rundir,) = [p.parent for p in (home / "runs").glob("*/result.json")]
    return rundir, out


def _metrics(rundir: Path) -> list[dict]:
    return [json.loads(line) for line in (rundir / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ddp")
    one, _ = _run(tmp, "one")
    two, _ = _run(tmp, "two", "--ranks-per-run", "2")
    marker = tmp / "rank1-killed.marker"
    killed, out = _run(tmp, "killed", "--ranks-per-run", "2", train={"checkpoint_steps": 4},
                       env={"TICKETS_TEST_KILL_MARKER": str(marker), "TICKETS_TEST_KILL_AT": str(STEPS + 6)})
    return {"one": one, "two": two, "killed": killed, "marker": marker, "killed_out": out}


def test_two_ranks_follow_the_single_process_loss_curve(runs):
    one, two = _metrics(runs["one"]), _metrics(runs["two"])
    assert [r["epoch"] for r in one] == [r["epoch"] for r in two] == [1, 2]
    for a, b in zip(one, two):
        for field in ("train_loss", "test_loss"):
            assert b[field] == pytest.approx(a[field], rel=1e-4), (field, a, b)
        assert abs(a["train_acc"] - b["train_acc"]) <= 100 / 512 + 1e-9
        assert abs(a["test_acc"] - b["test_acc"]) <= 100 / 256 + 1e-9
    assert one[-1]["train_loss"] < one[0]["train_loss"]  # it learns: the comparison is not of noise
    meta_one = json.loads((runs["one"] / "meta.json").read_text())
    meta_two = json.loads((runs["two"] / "meta.json").read_text())
    assert meta_one["world_size"] == 1 and meta_one["backend"] is None
    assert meta_two["world_size"] == 2 and meta_two["backend"] == "gloo"
    assert runs["one"].name == runs["two"].name  # world size is not part of the key


def test_rank0_alone_wrote_and_the_store_records_world_size(runs):
    from registry.store import Store

    two = runs["two"]
    assert not list(two.rglob("*.tmp"))
    assert sorted(p.name for p in (two / "pretrain").glob("ckpt-*.pt")) == ["ckpt-0001.pt", "ckpt-0002.pt"]
    assert len(_metrics(two)) == 2
    frame = Store(two.parent.parent).frame("SELECT world_size, backend, status FROM runs")
    assert frame.to_dict("records") == [{"world_size": 2, "backend": "gloo", "status": "done"}]


def test_a_killed_rank_stops_the_run_which_resumes_to_the_uninterrupted_result(runs):
    assert runs["marker"].is_file()  # rank 1 really was SIGKILLed mid-epoch 2
    said = " ".join(runs["killed_out"].stderr.split())
    assert "worker killed by SIGKILL; resuming from its checkpoints" in said, said
    # killed at epoch 2 step 6, resumed from the mid-epoch checkpoint after step 4: 5 steps left
    assert Path(str(runs["marker"]) + ".steps").read_text().split() == ["5"]
    killed, two = runs["killed"], runs["two"]
    mk, mt = _metrics(killed), _metrics(two)
    assert len(mk) == len(mt) == 2
    for a, b in zip(mk, mt):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-6, abs=0)
        assert {**a, "seconds": 0, "train_loss": 0} == {**b, "seconds": 0, "train_loss": 0}
    result_k = json.loads((killed / "result.json").read_text())
    result_t = json.loads((two / "result.json").read_text())
    for field in ("test_acc", "test_loss", "best_test_acc"):
        assert result_k[field] == result_t[field]
    import torch

    wk = torch.load(killed / "pretrain" / "ckpt-0002.pt", weights_only=True)["model"]
    wt = torch.load(two / "pretrain" / "ckpt-0002.pt", weights_only=True)["model"]
    assert all(torch.equal(wk[k], wt[k]) for k in wt)
    assert not list(killed.rglob("*.tmp")) and not (killed / "error.json").exists()
