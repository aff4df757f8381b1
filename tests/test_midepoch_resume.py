"""Exact resume inside an epoch (issue 18): a training process SIGKILLed right after a mid-epoch
checkpoint, rerun, ends bitwise equal (metrics and weights) to an uninterrupted run; in-process
interruptions check the gpu decoder and the device-resident path the same way."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from jpeg_trees import write_tree

SCRIPT = r"""
import os, sys
import torch
torch.set_num_threads(1)
from tickets.config import resolve
from tickets.data import load_dataset, register_imagenet_like
from tickets.models import build_model
from tickets.train import loop
from tickets.train.midepoch import MidEpoch

register_imagenet_like("midtree", size=32, num_classes=4)
data = load_dataset("midtree", root=sys.argv[1])
hang_after = int(os.environ.get("HANG_AFTER_MID_SAVES", "0"))
if hang_after:  # stop dead right after the n-th mid-epoch checkpoint, until the test kills us
    original, saves = MidEpoch.save, []
    def save(self, state):
        original(self, state)
        saves.append(1)
        if len(saves) == hang_after:
            (self.rundir / "hanging").write_text("x")
            sys.stdin.read()
    MidEpoch.save = save
config = resolve("imagenet", {"epochs": 2, "batch_size": 8, "eval_batch_size": 16, "checkpoint_steps": 1,
                              "milestones": [1]})
torch.manual_seed(0)
model = build_model("cnn_small", data.info)
loop.train(model, data, config, rundir=sys.argv[2], device="cpu", seed=5)
torch.save(model.state_dict(), os.path.join(sys.argv[2], "final.pt"))
"""


def _run(tree: Path, rundir: Path, hang: int = 0) -> subprocess.Popen:
    env = {**os.environ, "TICKETS_LOADER_WORKERS": "0", "HANG_AFTER_MID_SAVES": str(hang)}
    return subprocess.Popen([sys.executable, "-c", SCRIPT, str(tree), str(rundir)], env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _records(rundir: Path) -> list[dict]:
    lines = (rundir / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k != "seconds"} for line in lines]


def _wait_for(path: Path, proc: subprocess.Popen) -> None:
    """Until `path` exists (the child writes it right after its checkpoint, then blocks)."""
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"training exited ({proc.returncode}) before {path.name}: {proc.stdout.read()!r}")
        time.sleep(0.01)  # polling the file, not timing the test


@pytest.mark.slow
def test_sigkill_mid_epoch_resumes_bitwise(tmp_path):
    tree = tmp_path / "data"
    write_tree(tree / "midtree", "folders", per_class=8, val_per_class=2)  # 32 images: 4 steps per epoch
    plain = _run(tree, tmp_path / "plain")
    killed_dir = tmp_path / "killed"
    killed = _run(tree, killed_dir, hang=5)  # 3 mid checkpoints per epoch: the 5th is epoch 2, step 2
    _wait_for(killed_dir / "hanging", killed)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert killed.returncode == -signal.SIGKILL
    mid = torch.load(killed_dir / "train" / "mid.pt", weights_only=True)
    assert (mid["epoch"], mid["mid"]["epoch"], mid["mid"]["step"]) == (1, 2, 2)
    assert len(_records(killed_dir)) == 1  # epoch 2 was not finished

    resumed = _run(tree, killed_dir)
    out = resumed.communicate()[0]
    assert resumed.returncode == 0, out
    assert plain.wait() == 0, plain.stdout.read()
    assert not (killed_dir / "train" / "mid.pt").exists()  # replaced by the epoch checkpoint
    assert _records(killed_dir) == _records(tmp_path / "plain") and len(_records(killed_dir)) == 2
    a = torch.load(killed_dir / "final.pt", weights_only=True)
    b = torch.load(tmp_path / "plain" / "final.pt", weights_only=True)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


class _Stop(Exception):
    pass


def _train_interrupted(data, config, rundir, stop_after):
    """Train; with `stop_after`, raise after that many mid-epoch checkpoints, then train again."""
    from tickets.models import build_model
    from tickets.train import loop
    from tickets.train.midepoch import MidEpoch

    torch.manual_seed(0)
    model = build_model("cnn_small", data.info)
    if stop_after:
        original, saves = MidEpoch.save, []

        def save(self, state):
            original(self, state)
            saves.append(1)
            if len(saves) == stop_after:
                raise _Stop

        MidEpoch.save = save
        try:
            with pytest.raises(_Stop):
                loop.train(model, data, config, rundir=rundir, device="cpu", seed=2)
        finally:
            MidEpoch.save = original
        torch.manual_seed(99)  # a fresh process would not have the same global RNG state
        model = build_model("cnn_small", data.info)
    history = loop.train(model, data, config, rundir=rundir, device="cpu", seed=2)
    return [(r.train_loss, r.train_acc, r.test_loss, r.test_acc) for r in history.records], model.state_dict()


@pytest.mark.parametrize("kind", ["gpu_decoder", "device_resident"])
def test_interrupted_mid_epoch_resumes_bitwise_in_process(tmp_path, monkeypatch, kind):
    from tickets.config import resolve
    from tickets.data import DATASETS, DatasetInfo, TensorData, load_dataset, register_imagenet_like

    monkeypatch.setenv("TICKETS_LOADER_WORKERS", "0")
    if kind == "gpu_decoder":
        register_imagenet_like("midtree_gpu", size=32, num_classes=4, replace=True)
        write_tree(tmp_path / "midtree_gpu", "folders", per_class=5, val_per_class=1)
        data = load_dataset("midtree_gpu", root=tmp_path)
        DATASETS.unregister("midtree_gpu")
        overrides = {"loader": "gpu"}
    else:  # crop + flip on the device: the resumed epoch replays the skipped batches' draws
        g = torch.Generator().manual_seed(0)
        info = DatasetInfo("tiny8", 3, 8, 4, mean=(0.5,) * 3, std=(0.25,) * 3, crop_padding=2)
        x = torch.randint(0, 256, (20, 3, 8, 8), generator=g, dtype=torch.uint8)
        data = TensorData(info, x, torch.arange(20) % 4, x[:8], torch.arange(8) % 4)
        overrides = {}
    config = resolve("imagenet", {"epochs": 2, "batch_size": 6, "eval_batch_size": 8, "checkpoint_steps": 1,
                                  "milestones": [1], **overrides})
    plain = _train_interrupted(data, config, tmp_path / "plain", 0)
    again = _train_interrupted(data, config, tmp_path / "stopped", 4)  # epoch 2 after step 1 (3 per epoch)
    assert again[0] == plain[0]
    assert all(torch.equal(again[1][k], plain[1][k]) for k in plain[1])
