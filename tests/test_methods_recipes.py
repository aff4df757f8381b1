"""What each recipe does to weights, masks and schedules, checked on tiny real runs.

One shared dense pretraining (lenet5 on `synthetic`, 2 epochs, lr x0.1 after epoch 1) feeds the
pretrained methods; each test inspects the run directory files."""
from __future__ import annotations

import json

import pytest
import torch

from registry.atomic import read_json, read_jsonl
from tickets.domain import DOMAIN
from tickets.pruning.ratios import keep_counts
from tickets.train.checkpoint import load_latest, load_weights, weights_path

TRAIN = {"epochs": 2, "milestones": [1], "batch_size": 64}
CELL = {"dataset": "synthetic", "model": "lenet5", "seed": 0, "train": TRAIN}

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("single_thread")]




@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """run(method, **cell) -> {"pretrain": dir, "ticket": dir, "stages": [...]} (stages run once)."""
    root = tmp_path_factory.mktemp("runs")
    done: dict[str, object] = {}

    def run(method, sparsity=0.9, **extra):
        c = {**CELL, "method": method, "sparsity": 0.0 if method == "dense" else sparsity, **extra}
        stages = DOMAIN.expand(c)
        out = {"stages": stages}
        for stage in stages:
            rundir = root / f"{stage.kind}-{stage.key}"
            if stage.key not in done:
                deps = {role: root / f"pretrain-{key}" for role, key in stage.deps.items()}
                done[stage.key] = DOMAIN.run({"kind": stage.kind, "spec": dict(stage.spec)}, rundir, deps,
                                             lambda event: None, device="cpu")
            out[stage.kind] = rundir
            out["result"] = done[stage.key]
        return out

    return run


def final_weights(rundir, phase="retrain"):
    return load_latest(rundir, phase)["model"]


def prunable(state):
    return {k: v for k, v in state.items() if k.endswith(".weight") and v.dim() > 1}


def test_lt_rewinds_survivors_to_initial_weights(runs):
    r = runs("lt")
    init = load_weights(weights_path(r["pretrain"], "pretrain", 0))
    trained = load_weights(weights_path(r["pretrain"], "pretrain", 2))
    start = load_weights(weights_path(r["ticket"], "retrain", 0))
    mask = torch.load(r["ticket"] / "mask.pt", weights_only=True)
    assert set(mask) == set(prunable(init))
    for name, m in mask.items():
        assert torch.equal(start[name], init[name] * m)
        assert not torch.equal(start[name], trained[name] * m)
    # global magnitude over all layers but the classifier, which stays dense
    names = list(mask)
    assert mask[names[-1]].all()
    kept = [trained[n][mask[n]].abs().min() for n in names[:-1] if mask[n].any()]
    pruned = [trained[n][~mask[n]].abs().max() for n in names[:-1] if (~mask[n]).any()]
    assert min(kept) >= max(pruned)
    total = sum(m.numel() for m in mask.values())
    assert sum(int(m.sum()) for m in mask.values()) == round(total * 0.1)
    assert r["result"]["achieved_sparsity"] == pytest.approx(0.9, abs=1e-4)


def test_lrr_keeps_trained_weights_and_restarts_the_schedule(runs):
    r = runs("lrr")
    trained = load_weights(weights_path(r["pretrain"], "pretrain", 2))
    start = load_weights(weights_path(r["ticket"], "retrain", 0))
    mask = torch.load(r["ticket"] / "mask.pt", weights_only=True)
    for name, m in mask.items():
        assert torch.equal(start[name], trained[name] * m)
    pre = [rec for rec in read_jsonl(r["pretrain"] / "metrics.jsonl") if rec["phase"] == "pretrain"]
    re = [rec for rec in read_jsonl(r["ticket"] / "metrics.jsonl") if rec["phase"] == "retrain"]
    assert [rec["lr"] for rec in pre] == pytest.approx([0.1, 0.01])
    assert [rec["lr"] for rec in re] == pytest.approx([0.1, 0.01])  # first retrain epoch lr == config.lr


def test_wr_rewinds_to_epoch_k_and_continues_its_schedule(runs):
    r = runs("wr", method_options={"rewind_epoch": 1})
    at_k = load_weights(weights_path(r["pretrain"], "pretrain", 1))
    start = load_weights(weights_path(r["ticket"], "retrain", 0))
    mask = torch.load(r["ticket"] / "mask.pt", weights_only=True)
    for name, m in mask.items():
        assert torch.equal(start[name], at_k[name] * m)
    re = [rec for rec in read_jsonl(r["ticket"] / "metrics.jsonl") if rec["phase"] == "retrain"]
    assert [rec["lr"] for rec in re] == pytest.approx([0.01])  # the one epoch left, after the milestone


def test_hybrid_keeps_smart_counts_by_magnitude_per_layer(runs):
    r = runs("hybrid")
    trained = load_weights(weights_path(r["pretrain"], "pretrain", 2))
    mask = torch.load(r["ticket"] / "mask.pt", weights_only=True)
    shapes = [(n, tuple(trained[n].shape)) for n in mask]
    counts = keep_counts("smart", shapes, 0.9, family="lenet")
    for name, m in mask.items():
        assert int(m.sum()) == counts[name]
        w = trained[name].abs()
        if m.any() and (~m).any():
            assert w[m].min() >= w[~m].max()
    stats = read_json(r["ticket"] / "layers.json")
    assert [row["kept"] for row in stats] == [counts[n] for n in mask]
    start = load_weights(weights_path(r["ticket"], "retrain", 0))
    for name, m in mask.items():  # LRR-style: trained survivors
        assert torch.equal(start[name], trained[name] * m)


@pytest.mark.parametrize("method", ["lt", "snip", "random_tickets", "hybrid"])
def test_masks_stay_zero_after_retraining(runs, method):
    r = runs(method)
    mask = torch.load(r["ticket"] / "mask.pt", weights_only=True)
    final = final_weights(r["ticket"])
    for name, m in mask.items():
        assert (final[name][~m] == 0).all()
        assert (final[name][m] != 0).any()


def test_rearrange_keeps_layer_counts_and_moves_positions(runs):
    plain = runs("lt")
    moved = runs("lt", check="rearrange")
    assert moved["pretrain"] == plain["pretrain"]
    a = torch.load(plain["ticket"] / "mask.pt", weights_only=True)
    ckpt_mask = load_latest(moved["ticket"], "retrain")["mask"]
    for name in a:
        assert int(ckpt_mask[name].sum()) == int(a[name].sum())
    assert any(not torch.equal(ckpt_mask[n], a[n]) for n in a if not a[n].all())


def test_scratch_b_trains_longer_by_the_flops_ratio(runs):
    r = runs("scratch_b")
    flops = read_json(r["ticket"] / "flops.json")
    assert flops["ratio"] > 1
    expected = round(2 * min(2.0, flops["ratio"]))
    assert r["result"]["epochs"] == expected
    start = load_weights(weights_path(r["ticket"], "retrain", 0))
    init = load_weights(weights_path(r["pretrain"], "pretrain", 0))
    name = next(iter(prunable(init)))
    assert not torch.equal(start[name], init[name] * (start[name] != 0))  # a fresh initialisation


def test_pruning_step_is_not_redone_and_runs_are_deterministic(runs, tmp_path):
    r = runs("snip")
    stage = r["stages"][-1]
    again = DOMAIN.run({"kind": stage.kind, "spec": dict(stage.spec)}, r["ticket"], {}, lambda e: None,
                       device="cpu")
    assert again["test_acc"] == r["result"]["test_acc"]
    fresh = DOMAIN.run({"kind": stage.kind, "spec": dict(stage.spec)}, tmp_path / "fresh", {},
                       lambda e: None, device="cpu")
    assert fresh["test_acc"] == r["result"]["test_acc"]
    first = torch.load(r["ticket"] / "mask.pt", weights_only=True)
    second = torch.load(tmp_path / "fresh" / "mask.pt", weights_only=True)
    assert first.keys() == second.keys() and all(torch.equal(first[n], second[n]) for n in first)
    assert json.loads((r["ticket"] / "layers.json").read_text()) == \
        json.loads((tmp_path / "fresh" / "layers.json").read_text())


def test_a_saved_mask_is_reused_not_recomputed(runs, tmp_path):
    """An attempt that died after publishing mask.pt resumes with that mask, whatever it is."""
    planted = torch.load(runs("random_tickets")["ticket"] / "mask.pt", weights_only=True)
    stage = runs("snip")["stages"][-1]
    rundir = tmp_path / "resumed"
    rundir.mkdir()
    torch.save(planted, rundir / "mask.pt")
    DOMAIN.run({"kind": stage.kind, "spec": dict(stage.spec)}, rundir, {}, lambda e: None, device="cpu")
    stats = read_json(rundir / "layers.json")
    assert [row["kept"] for row in stats] == [int(m.sum()) for m in planted.values()]
    final = final_weights(rundir)
    for name, m in planted.items():
        assert (final[name][~m] == 0).all()
