"""The sanity checks and iterative methods are wired into real runs, not only unit-tested: each test
runs the domain's stages on `synthetic` (1 epoch) and watches what every training phase was given.

- data checks change what pretraining and the pruning step see; retraining always gets the true data;
- shuffle_weights and reinit change the weights retraining starts from, keeping the mask;
- GraSP's mask keeps the lowest scores, SNIP's the highest;
- IMP prunes in rounds of 1-(1-p)^(r/R); SynFlow follows its exponential schedule."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

import tickets.train as engine
from registry.atomic import write_json
from tickets.data import dataset_info
from tickets.domain import DOMAIN
from tickets.models import build_model
from tickets.pruning import checks, scorers, steps
from tickets.pruning.masks import prunable_weights

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("single_thread")]
CELL = {"dataset": "synthetic", "model": "lenet300", "seed": 3, "train": {"epochs": 1}}


@pytest.fixture
def phases(monkeypatch):
    """Every call of the training engine: phase, the training tensors it used, the starting weights."""
    calls: list[dict] = []
    real = engine.train

    def spy(model, data, config, **kwargs):
        view = kwargs.get("train_view")
        y = data.y_train if view is None else (view[1] if isinstance(view, tuple) else view.y_train)
        calls.append({"phase": kwargs["phase"], "true_data": view is None, "n": len(y), "y": y.clone(),
                      "start": {k: v.detach().clone() for k, v in model.state_dict().items()},
                      "mask": {k: v.clone() for k, v in (kwargs.get("mask") or {}).items()}})
        return real(model, data, config, **kwargs)

    monkeypatch.setattr(engine, "train", spy)
    return calls


def run_cell(tmp_path: Path, **cell) -> dict[str, Path]:
    """Run every stage of one cell in order, like a worker would; {kind: rundir}."""
    dirs: dict[str, Path] = {}
    for stage in DOMAIN.expand({**CELL, **cell}):
        rundir = tmp_path / f"{stage.kind}-{stage.key}"
        record = {"key": stage.key, "kind": stage.kind, "spec": dict(stage.spec), "deps": dict(stage.deps),
                  "dep_dirs": {r: str(dirs["pretrain"]) for r in stage.deps}, "columns": dict(stage.columns)}
        write_json(rundir / "stage.json", record)
        DOMAIN.run(record, rundir, {r: dirs["pretrain"] for r in stage.deps}, lambda _: None)
        dirs[stage.kind] = rundir
    return dirs


def mask_of(rundir: Path) -> dict[str, torch.Tensor]:
    return torch.load(rundir / steps.MASK_FILE, weights_only=True)


def test_data_checks_reach_pretraining_and_pruning_never_retraining(tmp_path, phases):
    run_cell(tmp_path, method="lrr", sparsity=0.9, check="half_data")
    by_phase = {c["phase"]: c for c in phases}
    assert by_phase[steps.PRETRAIN_PHASE]["n"] == 256 and not by_phase[steps.PRETRAIN_PHASE]["true_data"]
    assert by_phase[steps.RETRAIN_PHASE]["true_data"] and by_phase[steps.RETRAIN_PHASE]["n"] == 512

    phases.clear()
    clean = run_cell(tmp_path / "clean", method="snip", sparsity=0.9)
    noisy = run_cell(tmp_path / "noisy", method="snip", sparsity=0.9, check="random_labels")
    assert all(c["true_data"] for c in phases)  # SNIP trains only in retraining: always on the true data
    a, b = mask_of(clean["ticket"]), mask_of(noisy["ticket"])
    assert any(not torch.equal(a[n], b[n]) for n in a)  # the pruning step saw the random labels


def test_shuffle_weights_and_reinit_change_the_starting_weights_not_the_mask(tmp_path, phases):
    dirs = run_cell(tmp_path, method="lt", sparsity=0.9, check="shuffle_weights")
    start = phases[-1]["start"]
    init = engine.load_weights(engine.checkpoint.weights_path(dirs["pretrain"], steps.PRETRAIN_PHASE, 0))
    mask = mask_of(dirs["ticket"])
    assert {n: torch.equal(m, phases[-1]["mask"][n]) for n, m in mask.items()} == dict.fromkeys(mask, True)
    for name, keep in mask.items():
        kept_now, kept_lt = start[name][keep], init[name][keep]
        assert torch.equal(kept_now.sort().values, kept_lt.sort().values)  # same values ...
        assert not torch.equal(kept_now, kept_lt)  # ... at other positions

    phases.clear()
    dirs = run_cell(tmp_path / "reinit", method="lt", sparsity=0.9, check="reinit")
    start, mask = phases[-1]["start"], mask_of(dirs["ticket"])
    torch.manual_seed(checks.reinit_seed(CELL["seed"]))
    fresh = build_model("lenet300", dataset_info("synthetic")).state_dict()
    for name, keep in mask.items():
        assert torch.equal(start[name], fresh[name] * keep)


def test_grasp_keeps_the_lowest_scores_and_snip_the_highest(tmp_path, monkeypatch):
    seen: dict[str, bool] = {}
    real = steps._global_mask

    def spy(ctx, scores, **kwargs):
        seen[ctx.method.name] = kwargs.get("largest", True)
        return real(ctx, scores, **kwargs)

    monkeypatch.setattr(steps, "_global_mask", spy)
    run_cell(tmp_path / "g", method="grasp", sparsity=0.9, train={"epochs": 1})
    run_cell(tmp_path / "s", method="snip", sparsity=0.9, train={"epochs": 1})
    assert seen == {"grasp": False, "snip": True}


def test_imp_prunes_in_rounds_towards_the_target(tmp_path, phases):
    dirs = run_cell(tmp_path, method="imp", sparsity=0.9, method_options={"rounds": 3})
    rounds = [c for c in phases if c["phase"].startswith("round")] + [c for c in phases if c["phase"] == steps.RETRAIN_PHASE]
    total = sum(w.numel() for _, w in prunable_weights(build_model("lenet300", dataset_info("synthetic"))))
    fc3 = 1000  # the classifier stays dense (prune_classifier=False)
    kept = [sum(int(m.sum()) for m in c["mask"].values()) for c in rounds]
    assert [c["phase"] for c in rounds] == ["round1", "round2", steps.RETRAIN_PHASE]
    for r, k in enumerate(kept, start=2):  # after round r-1's pruning: density (1-p)^((r-1)/R)
        expected = round(total * 0.1 ** ((r - 1) / 3))
        assert abs(k - expected) <= fc3, (r, k, expected)
    assert kept == sorted(kept, reverse=True) and kept[-1] == round(total * 0.1)
    assert (dirs["ticket"] / "round1").is_dir() and (dirs["ticket"] / "round2").is_dir()


def test_synflow_follows_its_exponential_schedule(monkeypatch):
    targets: list[int] = []
    real = scorers.global_topk_mask
    monkeypatch.setattr(scorers, "global_topk_mask", lambda s, k, **kw: (targets.append(k), real(s, k, **kw))[1])
    torch.manual_seed(0)
    model = build_model("lenet300", dataset_info("synthetic"))
    total = sum(w.numel() for _, w in prunable_weights(model))
    keep = round(total * 0.02)
    scorers.synflow_mask(model, keep, iterations=5, input_shape=(1, 28, 28))
    assert targets == [max(keep, round(total * 0.02 ** (k / 5))) for k in range(1, 5)] + [keep]
    assert all(a > b for a, b in zip(targets, targets[1:]))
