"""Weight-level pruning of "Rethinking the Value of Network Pruning" (cifar/weight-level/): the mask
is the released cifar_prune.py's (global conv threshold, keep > threshold), Scratch-E/B start from
its re-drawn conv weights, Scratch-B's epochs follow its count_flops.py, and `Grid(retrain=...)`
reaches the method."""
from __future__ import annotations

import json
import math

import pytest
import torch
from torch import nn

from registry.errors import UserError
from tickets.data import dataset_info
from tickets.models import build_model
from tickets.pruning import weight_level as wl

GRAY = dataset_info("synthetic")

pytestmark = pytest.mark.usefixtures("single_thread")


def _released_prune(model: nn.Module, percent: float) -> dict[str, torch.Tensor]:
    """The lines of cifar_prune.py, re-implemented on a copy of the weights."""
    total = sum(m.weight.data.numel() for m in model.modules() if isinstance(m, nn.Conv2d))
    conv_weights = torch.zeros(total)
    index = 0
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            size = m.weight.data.numel()
            conv_weights[index:index + size] = m.weight.data.view(-1).abs().clone()
            index += size
    y, _ = torch.sort(conv_weights)
    thre = y[int(total * percent)]
    return {f"{n}.weight": m.weight.data.abs().gt(thre) for n, m in model.named_modules() if isinstance(m, nn.Conv2d)}


@pytest.mark.parametrize("percent", [0.3, 0.5, 0.9])
def test_mask_is_the_released_global_conv_threshold(percent):
    torch.manual_seed(0)
    net = build_model("cnn_small", GRAY)
    with torch.no_grad():  # ties at the threshold: the released strict > prunes all of them
        net.features[0].weight.view(-1)[:20] = net.features[0].weight.view(-1)[20]
    mask = wl.conv_magnitude_mask(net, percent)
    expected = _released_prune(net, percent)
    assert mask.keys() == expected.keys() == {"features.0.weight", "features.4.weight"}  # no linear layer
    for k in mask:
        assert torch.equal(mask[k], expected[k])
    total = sum(m.numel() for m in mask.values())
    assert sum(int(m.sum()) for m in mask.values()) <= total - int(total * percent)


def test_scratch_start_redraws_conv_weights_with_the_kept_fan():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Conv2d(8, 128, 3))  # enough weights for a tight std
    mask = wl.conv_magnitude_mask(net, 0.8)
    wl.released_init(net, mask)
    name = "1.weight"
    w, m = dict(net.named_parameters())[name], mask[name]
    assert torch.all(w[~m] == 0)
    expected = math.sqrt(2.0 / (float(m.sum()) / w.shape[1]))
    assert w[m].std().item() == pytest.approx(expected, rel=0.02)


def test_flops_count_as_the_released_count_flops():
    """cnn_small on 1x28x28: conv 3x3 (16) BN ReLU maxpool, conv 3x3 (32) BN ReLU maxpool, global
    average pooling (functional: not counted), Linear(32, 10)."""
    torch.manual_seed(0)
    net = build_model("cnn_small", GRAY)
    dense = (2 * 144 * 784 + 2 * 16 * 784 + 16 * 784 + 4 * 16 * 196
             + 2 * 4608 * 196 + 2 * 32 * 196 + 32 * 196 + 4 * 32 * 49 + 2 * 320 + 10)
    assert wl.released_flops(net, GRAY.shape) == dense
    mask = wl.conv_magnitude_mask(net, 0.5)
    from tickets.pruning.masks import apply_mask

    apply_mask(net, mask)
    kept1, kept2 = int(mask["features.0.weight"].sum()), int(mask["features.4.weight"].sum())
    assert wl.released_flops(net, GRAY.shape) == dense - 2 * (144 - kept1) * 784 - 2 * (4608 - kept2) * 196
    assert wl.released_flops(net, GRAY.shape, dense=True) == dense
    assert wl.scratch_b_epochs(160, 300, 100, 2.0) == 320 and wl.scratch_b_epochs(160, 300, 200, 2.0) == 240


def test_bad_input_is_refused_at_planning():
    from tickets.domain import DOMAIN

    with pytest.raises(UserError, match="no conv layer"):
        DOMAIN.expand({"dataset": "synthetic", "model": "lenet300", "method": "weight_level", "sparsity": 0.5})
    with pytest.raises(UserError, match="retrain must be one of"):
        DOMAIN.expand({"dataset": "synthetic", "model": "cnn_small", "method": "weight_level",
                       "method_options": {"retrain": "lottery"}, "sparsity": 0.5})


def test_retrain_schedule_enters_keys_only_for_finetune_and_only_off_default():
    from tickets.domain import DOMAIN

    cell = {"dataset": "synthetic", "model": "cnn_small", "method": "weight_level", "sparsity": 0.5}
    plain = DOMAIN.expand(cell)[-1]
    same = DOMAIN.expand({**cell, "retrain": {"epochs": 40}})[-1]
    other = DOMAIN.expand({**cell, "retrain": {"epochs": 2}})[-1]
    assert plain.key == same.key != other.key and other.identity["retrain"] == {"epochs": 2}
    assert plain.spec["retrain"]["lr"] == 0.001 and plain.spec["retrain"]["milestones"] == []
    scratch = DOMAIN.expand({**cell, "method_options": {"retrain": "scratch_e"}, "retrain": {"epochs": 2}})[-1]
    assert "retrain" not in scratch.identity and scratch.identity["method"] == {"name": "weight_level",
                                                                                "retrain": "scratch_e"}


def test_pipelines_run_end_to_end(tmp_path):
    """dense (shared), fine-tuned, Scratch-E, Scratch-B on `synthetic` with cnn_small: the fine-tuned
    run inherits the trained survivors and trains the fine-tuning schedule, the scratch runs start
    from re-drawn weights under the same mask, Scratch-B's epochs follow the released FLOPs ratio."""
    from registry.ingest import ingest
    from registry.plan import make_plan
    from registry.scheduler import write_stage
    from registry.store import Store
    from registry.worker import run_stage
    from tickets.study import load_study

    study = tmp_path / "s.py"
    study.write_text(
        "from tickets.study import Grid, Study\n"
        "from tickets.pruning.weight_level import WeightLevel\n"
        "C = dict(datasets=['synthetic'], models=['cnn_small'], train={'epochs': 2, 'milestones': (1,)},\n"
        "         retrain={'epochs': 1})\n"
        "study = Study('s', Grid(methods=['dense'], sparsities=[0.0], **C),\n"
        "    Grid(methods=[WeightLevel(retrain=r) for r in ('finetune', 'scratch_e', 'scratch_b')],\n"
        "         sparsities=[0.7], **C))\n")
    home = tmp_path / "home"
    store = Store(home)
    plan = make_plan(load_study(study), store)
    stages = list(plan.stages.values())
    assert [s.kind for s in stages] == ["pretrain", "ticket", "ticket", "ticket"]
    assert all(s.deps == {"pretrain": stages[0].key} for s in stages[1:])
    rundirs = [write_stage(store, key, plan) for key in plan.stages]
    assert [run_stage(d) for d in rundirs] == [0, 0, 0, 0]
    ingest(store, rundirs)
    runs = Store(home).frame("SELECT key, json_extract_string(spec, '$.method.retrain') AS retrain, "
                             "achieved_sparsity FROM run_results WHERE method = 'weight_level' ORDER BY retrain")
    by = {r["retrain"]: r for _, r in runs.iterrows()}
    epochs = {r: json.loads((home / "runs" / by[r]["key"] / "result.json").read_text())["epochs"] for r in by}
    assert epochs["finetune"] == 1 and epochs["scratch_e"] == 2
    flops = json.loads((home / "runs" / by["scratch_b"]["key"] / "flops.json").read_text())
    assert flops["epochs"] == int(2 * min(2.0, flops["dense_flops"] / flops["sparse_flops"])) == epochs["scratch_b"] > 2
    masks = [torch.load(home / "runs" / by[r]["key"] / "mask.pt", weights_only=True) for r in by]
    assert all(m.keys() == masks[0].keys() and all(torch.equal(m[k], masks[0][k]) for k in m) for m in masks)
    conv_total = sum(m.numel() for m in masks[0].values())
    assert sum(int(m.sum()) for m in masks[0].values()) == pytest.approx(0.3 * conv_total, abs=2)
    assert 0.6 < by["finetune"]["achieved_sparsity"] < 0.7  # the classifier is not pruned
