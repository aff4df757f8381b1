"""Checkpoints and resume: an interrupted phase (exception or SIGKILL) or one whose newest
checkpoint is corrupt ends with exactly the metrics and weights of an uninterrupted run (CPU)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from registry.atomic import read_jsonl
from test_train_support import half_mask, metrics, states_equal, tiny_data, tiny_model
from tickets.config import TrainConfig
from tickets.train import load_weights, snapshot, train
from tickets.train.checkpoint import list_checkpoints, weights_path

CFG = TrainConfig(epochs=3, batch_size=32, milestones=(2,), eval_batch_size=64)
TESTS_DIR = Path(__file__).parent


class Stop(Exception):
    pass


def stop_after(epoch):
    def on_epoch(record):
        if record.epoch == epoch:
            raise Stop

    return on_epoch


def run(rundir=None, **kwargs):
    model = tiny_model()
    history = train(model, tiny_data(), CFG, mask=half_mask(model), rundir=rundir, seed=7, **kwargs)
    return history, snapshot(model)


@pytest.fixture(scope="module")
def reference():
    """The uninterrupted run (no run directory)."""
    return run()


def assert_same(result, reference):
    (h, w), (ref_h, ref_w) = result, reference
    assert metrics(h) == metrics(ref_h)
    assert (h.final_test_acc, h.best_test_acc, h.final_train_loss) == \
        (ref_h.final_test_acc, ref_h.best_test_acc, ref_h.final_train_loss)
    assert states_equal(w, ref_w)


def assert_metrics_file(rundir, phase="train", epochs=3):
    lines = read_jsonl(Path(rundir) / "metrics.jsonl")
    assert [(r["phase"], r["epoch"]) for r in lines] == [(phase, e) for e in range(1, epochs + 1)]


def test_interrupt_after_epoch_two_then_resume_is_identical(tmp_path, reference):
    with pytest.raises(Stop):
        run(tmp_path, on_epoch=stop_after(2))
    assert [e for e, _ in list_checkpoints(tmp_path, "train")] == [1, 2]
    seen = []
    result = run(tmp_path, on_epoch=lambda r: seen.append(r.epoch))
    assert seen == [3] and result[0].resumed_from == 2
    assert_same(result, reference)
    assert_metrics_file(tmp_path)
    assert [e for e, _ in list_checkpoints(tmp_path, "train")] == [2, 3]  # the last two are kept
    progress = json.loads((tmp_path / "progress.json").read_text())
    assert {k: progress[k] for k in ("phase", "epoch", "epochs")} == {"phase": "train", "epoch": 3, "epochs": 3}


def test_sigkill_mid_epoch_three_then_resume_is_identical(tmp_path, reference):
    script = textwrap.dedent(f"""
        import os, signal, sys, torch
        torch.set_num_threads({torch.get_num_threads()})
        sys.path.insert(0, {str(TESTS_DIR)!r})
        import test_train_resume as t
        def on_step(epoch, step, steps):
            if epoch == 3:
                os.kill(os.getpid(), signal.SIGKILL)
        t.run({str(tmp_path)!r}, on_step=on_step)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert [e for e, _ in list_checkpoints(tmp_path, "train")] == [1, 2]
    assert_metrics_file(tmp_path, epochs=2)
    result = run(tmp_path)
    assert result[0].resumed_from == 2
    assert_same(result, reference)
    assert_metrics_file(tmp_path)


def test_truncated_newest_checkpoint_falls_back_with_a_warning(tmp_path, reference):
    with pytest.raises(Stop):
        run(tmp_path, on_epoch=stop_after(2))
    newest = tmp_path / "train" / "ckpt-0002.pt"
    newest.write_bytes(newest.read_bytes()[: newest.stat().st_size // 2])
    stray = tmp_path / "train" / ".ckpt-0003.pt.abc123.tmp"  # a writer killed mid-write
    stray.write_bytes(b"partial")
    with pytest.warns(RuntimeWarning, match="ckpt-0002.pt"):
        result = run(tmp_path)
    assert result[0].resumed_from == 1
    assert_same(result, reference)
    assert_metrics_file(tmp_path)  # epoch 2's line was dropped and written again, once
    assert (tmp_path / "train" / "ckpt-0002.pt.corrupt").exists() and not stray.exists()


def test_all_checkpoints_corrupt_restarts_from_scratch(tmp_path, reference):
    with pytest.raises(Stop):
        run(tmp_path, on_epoch=stop_after(2))
    for _, path in list_checkpoints(tmp_path, "train"):
        path.write_bytes(b"not a checkpoint")
    with pytest.warns(RuntimeWarning, match="unreadable"):
        result = run(tmp_path)
    assert result[0].resumed_from == 0
    assert_same(result, reference)
    assert_metrics_file(tmp_path)


def test_finished_phase_returns_without_training_and_loads_final_weights(tmp_path, reference):
    first = run(tmp_path)
    assert_same(first, reference)
    calls = []
    again = run(tmp_path, on_epoch=calls.append, on_step=lambda *a: calls.append(a))
    assert calls == [] and again[0].resumed_from == 3
    assert_same(again, reference)
    assert_metrics_file(tmp_path)


def test_weight_snapshots_for_rewinding(tmp_path):
    model = tiny_model()
    mask = half_mask(model)
    at_epoch = {}
    train(model, tiny_data(), CFG, mask=mask, rundir=tmp_path, seed=7, snapshot_epochs=(1,),
          on_epoch=lambda r: at_epoch.setdefault(r.epoch, snapshot(model)))
    init = load_weights(weights_path(tmp_path, "train", 0))
    fresh = tiny_model()
    for name, keep in mask.items():  # the starting weights, with the mask applied
        assert torch.equal(init[name], fresh.state_dict()[name] * keep)
    assert states_equal(load_weights(weights_path(tmp_path, "train", 1)), at_epoch[1])
    assert not weights_path(tmp_path, "train", 2).exists()


def test_a_kill_while_writing_a_snapshot_never_loses_it(tmp_path, monkeypatch, reference):
    """Rewinding methods load weights-NNNN.pt from a finished pretraining: a kill while the last
    epoch's snapshot is being written must not leave a finished phase without it."""
    import tickets.train.checkpoint as ckpt

    real = ckpt.save_weights

    def dies_at_three(path, model):
        if Path(path).name == "weights-0003.pt":
            raise Stop  # the process dies here
        return real(path, model)

    monkeypatch.setattr(ckpt, "save_weights", dies_at_three)
    with pytest.raises(Stop):
        run(tmp_path, snapshot_epochs=(3,))
    monkeypatch.setattr(ckpt, "save_weights", real)
    assert_same(run(tmp_path, snapshot_epochs=(3,)), reference)
    assert states_equal(load_weights(weights_path(tmp_path, "train", 3)), reference[1])

    weights_path(tmp_path, "train", 3).unlink()  # a run directory from before the fix: repaired on resume
    assert_same(run(tmp_path, snapshot_epochs=(3,)), reference)
    assert states_equal(load_weights(weights_path(tmp_path, "train", 3)), reference[1])


def test_phases_share_one_metrics_file(tmp_path):
    model = tiny_model()
    data = tiny_data()
    train(model, data, replace(CFG, epochs=2), rundir=tmp_path, phase="pretrain", seed=0)
    with pytest.raises(Stop):
        train(model, data, CFG, rundir=tmp_path, phase="retrain", mask=half_mask(model), seed=0,
              on_epoch=stop_after(1))
    train(model, data, CFG, rundir=tmp_path, phase="retrain", mask=half_mask(model), seed=0)
    lines = read_jsonl(tmp_path / "metrics.jsonl")
    assert [(r["phase"], r["epoch"]) for r in lines] == \
        [("pretrain", 1), ("pretrain", 2), ("retrain", 1), ("retrain", 2), ("retrain", 3)]
    assert sorted(os.listdir(tmp_path)) == ["metrics.jsonl", "pretrain", "progress.json", "retrain"]
