"""Soft filter pruning (cifar/soft-filter-pruning/) and the structured lottery-ticket pipeline
(cifar/lottery-ticket/l1-norm-pruning/) of "Rethinking the Value of Network Pruning" (issue 20)."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from tickets.data import dataset_info
from tickets.models import build_model
from tickets.pruning import soft_filter

SMALL = dataclasses.replace(dataset_info("cifar10"), size=16)

pytestmark = pytest.mark.usefixtures("single_thread")


def _released_filter_codebook(weight: torch.Tensor, compress_rate: float) -> np.ndarray:
    """get_filter_codebook of pruning_cifar10_resnet.py, re-implemented."""
    length = weight.numel()
    codebook = np.ones(length)
    filter_pruned_num = int(weight.size()[0] * (1 - compress_rate))
    norm2 = torch.norm(weight.view(weight.size()[0], -1), 2, 1).numpy()
    filter_index = norm2.argsort()[:filter_pruned_num]
    kernel_length = weight.size()[1] * weight.size()[2] * weight.size()[3]
    for x in filter_index:
        codebook[x * kernel_length:(x + 1) * kernel_length] = 0
    return codebook


def test_soft_step_zeroes_the_released_filters_of_every_conv():
    torch.manual_seed(0)
    net = build_model("resnet20_l1", SMALL)
    convs = {f"{n}.weight": m.weight.detach().clone() for n, m in net.named_modules()
             if isinstance(m, torch.nn.Conv2d)}
    assert len(convs) == 19  # the stem and both convs of 9 blocks: the released mask_index for resnet20
    mask = soft_filter.zero_filters(net, 0.3)  # the released --rate 0.7
    params = dict(net.named_parameters())
    for name, before in convs.items():
        expected = _released_filter_codebook(before, 0.7).reshape(before.shape).astype(bool)
        assert np.array_equal(mask[name].numpy(), expected), name
        assert torch.equal(params[name].detach(), before * torch.from_numpy(expected))
    assert "fc.weight" not in mask
    assert {int((~m).flatten(1).all(1).sum()) for m in mask.values()} == {int(16 * 0.3), int(32 * 0.3), int(64 * 0.3)}


def _run_study(tmp_path, source: str):
    from registry.ingest import ingest
    from registry.plan import make_plan
    from registry.scheduler import write_stage
    from registry.store import Store
    from registry.worker import run_stage
    from tickets.study import load_study

    study = tmp_path / "s.py"
    study.write_text(source)
    home = tmp_path / "home"
    store = Store(home)
    plan = make_plan(load_study(study), store)
    rundirs = [write_stage(store, key, plan) for key in plan.stages]
    assert [run_stage(d) for d in rundirs] == [0] * len(rundirs)
    ingest(store, rundirs)
    return plan, home, Store(home)


def test_soft_training_is_a_shared_stage_and_scratch_runs_train_its_architecture(tmp_path):
    plan, home, store = _run_study(tmp_path, (
        "from tickets.study import Grid, Study\n"
        "from tickets.pruning.soft_filter import SoftFilter\n"
        "study = Study('s', Grid(datasets=['synthetic'], models=['cnn_small'], sparsities=[0.5],\n"
        "    methods=[SoftFilter(), SoftFilter(retrain='scratch_e'), SoftFilter(retrain='scratch_b')],\n"
        "    train={'epochs': 2}))\n"))
    pretrain, soft_run, scratch_e, scratch_b = plan.stages.values()
    assert pretrain.kind == "pretrain" and pretrain.identity["soft_filter"] == 0.5
    assert scratch_e.deps == scratch_b.deps == {"pretrain": pretrain.key}
    soft_dir = home / "runs" / pretrain.key
    final = torch.load(soft_dir / "pretrain" / "weights-0002.pt", weights_only=True)
    first = torch.load(soft_dir / "pretrain" / "weights-0001.pt", weights_only=True)
    for weights in (first, final):  # zeroed after every epoch, before it is evaluated and saved
        for name, out in (("features.0.weight", 16), ("features.4.weight", 32)):
            assert int((weights[name].flatten(1).abs().sum(1) == 0).sum()) == out // 2
    mask = torch.load(soft_dir / "mask.pt", weights_only=True)
    assert torch.equal(mask["features.4.weight"], final["features.4.weight"] != 0)
    runs = store.frame("SELECT key, method, variant, achieved_sparsity, flops, dense_flops FROM run_results "
                       "ORDER BY method, variant")
    soft = runs[runs["method"] == "dense"].iloc[0]
    assert soft["variant"].startswith("soft_filter=0.5 ") and soft["flops"] < soft["dense_flops"]
    assert 0.4 < soft["achieved_sparsity"] < 0.5  # half of every conv's filters, not the classifier
    soft_result = json.loads((home / "runs" / soft_run.key / "result.json").read_text())
    soft_metrics = [json.loads(line) for line in (soft_dir / "metrics.jsonl").read_text().splitlines()]
    assert soft_result["epochs"] == 0  # evaluated, not trained: the last epoch's (post-zeroing) accuracy
    assert soft_result["test_acc"] == pytest.approx(soft_metrics[-1]["test_acc"])
    for stage in (soft_run, scratch_e, scratch_b):
        own = torch.load(home / "runs" / stage.key / "mask.pt", weights_only=True)
        assert all(torch.equal(own[k], mask[k]) for k in mask)
    flops = json.loads((home / "runs" / scratch_b.key / "flops.json").read_text())
    epochs = json.loads((home / "runs" / scratch_b.key / "result.json").read_text())["epochs"]
    assert epochs == flops["epochs"] == int(2 * min(2.0, flops["dense_flops"] / flops["sparse_flops"])) > 2


def test_structured_lottery_starts_from_the_initial_weights_of_the_kept_channels(tmp_path):
    plan, home, store = _run_study(tmp_path, (
        "from tickets.study import Grid, Study\n"
        "from tickets.pruning.structured.methods import L1Filter\n"
        "study = Study('s', Grid(datasets=['synthetic'], models=['mlp_bn'], sparsities=[0.5],\n"
        "    methods=[L1Filter(variant='', retrain='lottery')], train={'epochs': 1}))\n"))
    pretrain, lottery = plan.stages.values()
    assert lottery.deps == {"pretrain": pretrain.key} and lottery.identity["method"]["retrain"] == "lottery"
    init = torch.load(home / "runs" / pretrain.key / "pretrain" / "weights-0000.pt", weights_only=True)
    trained = torch.load(home / "runs" / pretrain.key / "pretrain" / "weights-0001.pt", weights_only=True)
    start = torch.load(home / "runs" / lottery.key / "retrain" / "weights-0000.pt", weights_only=True)
    kept = json.loads((home / "runs" / lottery.key / "structure.json").read_text())["kept"]
    fc1 = torch.tensor(kept["fc1"])
    order = torch.argsort(-trained["hidden.0.weight"].abs().sum(1), stable=True)[:150]
    assert sorted(order.tolist()) == fc1.tolist()  # chosen on the trained network
    assert torch.equal(start["hidden.0.weight"], init["hidden.0.weight"][fc1])  # initial weights
    assert torch.equal(start["hidden.3.weight"], init["hidden.3.weight"][torch.tensor(kept["fc2"])][:, fc1])
    result = json.loads((home / "runs" / lottery.key / "result.json").read_text())
    assert result["epochs"] == 1  # the large model's schedule
