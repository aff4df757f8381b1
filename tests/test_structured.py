"""Structured pruning (issue 12): rebuilt networks compute what the masked large network computes,
residual shapes stay consistent, params/FLOPs match ptflops, slimming's penalty touches only BN
scales, Scratch-B's epochs follow the FLOPs ratio, bad input is refused with one line."""
from __future__ import annotations

import copy
import dataclasses
import json

import pytest
import torch
from torch import nn

from registry.errors import UserError
from tickets.data import dataset_info
from tickets.models import build_model
from tickets.pruning.structured import cost, presets, rebuild, select
from tickets.pruning.structured.methods import scratch_b_epochs
from tickets.pruning.structured.penalty import add_bn_l1

CIFAR = dataset_info("cifar10")
SMALL = dataclasses.replace(CIFAR, size=16)  # the CIFAR networks on 16x16 input: same shapes, 4x less work
GRAY = dataset_info("fashionmnist")

pytestmark = pytest.mark.usefixtures("single_thread")


def _trained_looking(model: nn.Module, seed: int = 0) -> nn.Module:
    """Random BN scales, shifts and running statistics, so dropped channels matter and eval-mode
    BN is not the identity."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                n = m.num_features
                m.weight.copy_(torch.rand(n, generator=gen) + 0.05)
                m.bias.copy_(torch.rand(n, generator=gen) - 0.5)
                m.running_mean.copy_(torch.rand(n, generator=gen) - 0.5)
                m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
    return model.eval()


def _random_kept(model: nn.Module, seed: int) -> dict[str, list[int]]:
    gen = torch.Generator().manual_seed(seed)
    kept = {}
    for g in rebuild.groups_of(model):
        n = max(1, g.size // 2)
        kept[g.name] = sorted(torch.randperm(g.size, generator=gen)[:n].tolist())
    return kept


@pytest.mark.parametrize("name,info", [("cnn_small", GRAY), ("mlp_bn", GRAY), ("vgg16_l1", SMALL),
                                       ("resnet56_l1", SMALL), ("preresnet164", SMALL)])
def test_rebuilt_network_computes_what_the_masked_network_computes(name, info):
    torch.manual_seed(0)
    large = _trained_looking(build_model(name, info))
    kept = _random_kept(large, seed=1)  # scattered channels, not a prefix
    small, channels = rebuild.rebuild(large, name, info, kept)
    masked = copy.deepcopy(large)
    rebuild.mask_dropped(masked, kept)
    x = torch.randn(2, *info.shape, generator=torch.Generator().manual_seed(2))
    small.eval()
    with torch.no_grad():
        expected, got = masked(x), small(x)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)
    # and the masking matters: the unmasked large network computes something else
    with torch.no_grad():
        assert (large(x) - expected).abs().max() > 1e-3
    # the smaller network is rebuilt from its options alone (what structure.json records)
    again = build_model(name, info, channels=json.loads(json.dumps(channels)))
    assert [p.shape for p in again.parameters()] == [p.shape for p in small.parameters()]
    assert cost.count(small, info.shape)["params"] < cost.count(large, info.shape)["params"]


def test_residual_blocks_keep_consistent_shapes():
    torch.manual_seed(0)
    large = build_model("resnet56_l1", SMALL)
    counts = presets.preset_counts("resnet56_l1", "B")
    small, channels = rebuild.rebuild(large, "resnet56_l1", SMALL, select.l1_kept(large, counts))
    assert channels[:9] == [6] * 7 + [16, 16]  # blocks 8, 9 (convs 16, 18) skipped; the rest keep int(16*0.4)
    for big, thin in zip(large.blocks, small.blocks):
        assert thin.conv2.out_channels == big.conv2.out_channels  # the residual stream is untouched
        assert thin.conv2.in_channels == thin.conv1.out_channels == thin.bn1.num_features
    assert small(torch.randn(2, 3, 16, 16)).shape == (2, 10)
    pre = build_model("preresnet164", SMALL)
    kept = select.slimming_kept(_trained_looking(pre), 0.4, "preresnet164")
    thin, _ = rebuild.rebuild(pre, "preresnet164", SMALL, kept)
    for big, block in zip(pre.blocks, thin.blocks):
        assert block.conv3.out_channels == big.conv3.out_channels and block.bn1.num_features == big.bn1.num_features
        assert block.conv1.in_channels == len(block.select.index)
    assert thin(torch.randn(2, 3, 16, 16)).shape == (2, 10)


def test_paper_presets_give_the_published_sizes():
    """Li et al. (2017) Table 1: VGG-16-A 64.0 % params / 34.2 % FLOPs removed, ResNet-56-A 10.4 % FLOPs,
    ResNet-56-B 27.6 %, ResNet-110-A 15.9 % (2.3 % params), ResNet-110-B 38.6 % (32.4 % params)."""
    expected = {("vgg16_l1", "A"): (64.0, 34.2), ("resnet56_l1", "A"): (9.4, 10.4),
                ("resnet56_l1", "B"): (13.7, 27.6), ("resnet110_l1", "A"): (2.3, 15.9),
                ("resnet110_l1", "B"): (32.4, 38.6)}
    for (name, variant), (params_down, flops_down) in expected.items():
        large = build_model(name, SMALL)  # every layer's FLOPs scale alike with the input: same fractions
        small, _ = rebuild.rebuild(large, name, SMALL, select.l1_kept(large, presets.preset_counts(name, variant)))
        a, b = cost.count(large, SMALL.shape), cost.count(small, SMALL.shape)
        assert 100 * (1 - b["params"] / a["params"]) == pytest.approx(params_down, abs=0.15), name
        assert 100 * (1 - b["flops"] / a["flops"]) == pytest.approx(flops_down, abs=0.15), name
    assert cost.count(build_model("vgg16_l1", CIFAR), CIFAR.shape) == {"params": 14987722, "flops": 313463808}


@pytest.mark.parametrize("name,info", [("vgg16_l1", SMALL), ("resnet56_l1", SMALL), ("preresnet164", SMALL),
                                       ("cnn_small", GRAY), ("mlp_bn", GRAY)])
def test_params_and_flops_match_ptflops(name, info):
    ptflops = pytest.importorskip("ptflops")
    torch.manual_seed(0)
    model = build_model(name, info)
    small, _ = rebuild.rebuild(model, name, info, _random_kept(model, seed=3))
    for net in (model, small):
        macs, params = ptflops.get_model_complexity_info(net, tuple(info.shape), print_per_layer_stat=False,
                                                         as_strings=False, backend="aten")
        # ptflops adds one operation per output of a linear layer's bias; the papers' MACs do not
        biases = sum(m.out_features for m in net.modules() if isinstance(m, nn.Linear) and m.bias is not None)
        assert cost.count(net, info.shape) == {"params": params, "flops": macs - biases}


def test_masked_network_counts_only_kept_weights():
    net = build_model("lenet300", GRAY)
    mask = {"fc1.weight": torch.zeros(300, 784, dtype=torch.bool), "fc2.weight": torch.ones(100, 300, dtype=torch.bool)}
    mask["fc1.weight"][:, :10] = True
    counted = cost.count(net, GRAY.shape, mask)
    assert counted["flops"] == 300 * 10 + 100 * 300 + 10 * 100
    assert counted["params"] == 300 * 10 + 300 + 100 * 300 + 100 + 10 * 100 + 10


def test_slimming_penalty_reaches_bn_scales_only():
    torch.manual_seed(0)
    net = _trained_looking(build_model("cnn_small", GRAY)).train()
    x, y = torch.randn(8, *GRAY.shape), torch.randint(0, 10, (8,))

    def grads(strength):
        model = copy.deepcopy(net)
        handles = add_bn_l1(model, strength)
        nn.functional.cross_entropy(model(x), y).backward()
        for h in handles:
            h.remove()
        return model, {n: p.grad.clone() for n, p in model.named_parameters()}

    _, plain = grads(0.0)
    model, penalised = grads(1e-2)
    scales = {n for n, m in model.named_modules() if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d))}
    for name, g in penalised.items():
        if name.rsplit(".", 1)[0] in scales and name.endswith("weight"):
            weight = dict(model.named_parameters())[name]
            torch.testing.assert_close(g - plain[name], 1e-2 * torch.sign(weight.detach()))
        else:
            assert torch.equal(g, plain[name]), name


def test_slimming_selects_globally_smallest_scales():
    net = build_model("cnn_small", GRAY)
    with torch.no_grad():
        net.features[1].weight.copy_(torch.linspace(0.01, 0.16, 16))  # conv1's BN: the small ones
        net.features[5].weight.copy_(torch.linspace(1.0, 2.0, 32))
    # threshold = the sorted scales' entry int(48 * 0.25) = 12, removed with everything below it
    kept = select.slimming_kept(net, 0.25, "cnn_small")
    assert kept["conv1"] == [13, 14, 15] and kept["conv2"] == list(range(32))
    with pytest.raises(UserError, match="whole layer"):
        select.slimming_kept(net, 0.4, "cnn_small")  # every conv1 channel is below the threshold


def test_scratch_b_epochs_follow_the_flops_ratio_with_the_cap():
    assert scratch_b_epochs(160, 313463808, 206279680, 2.0) == int(160 * 313463808 / 206279680) == 243
    assert scratch_b_epochs(160, 125485696, 90907264, 2.0) == 220
    assert scratch_b_epochs(160, 10, 1, 2.0) == 320  # capped at twice the epochs
    assert scratch_b_epochs(3, 100, 100, 2.0) == 3


def test_bad_input_is_one_line(tmp_path):
    from tickets.domain import DOMAIN

    bad = [
        (dict(model="lenet300", method="slimming", sparsity=0.5), "no channel configuration"),
        (dict(model="mlp_bn", method="l1_filter", sparsity=0.0), "no preset variant 'A' for model mlp_bn"),
        (dict(model="mlp_bn", method="channel_scale", sparsity=0.999), "whole layer"),
        (dict(model="mlp_bn", method="l1_filter", method_options={"variant": ""}, sparsity=0.0), "must be in (0, 1)"),
        (dict(model="mlp_bn", method="channel_scale", method_options={"retrain": "later"}, sparsity=0.5),
         "retrain must be one of"),
        (dict(model="mlp_bn", method="dense", sparsity=0.0, model_options={"channels": [300]}), "2 channel groups"),
        (dict(model="mlp_bn", method="dense", sparsity=0.0, model_options={"channels": [0, 100]}), "at least 1"),
    ]
    for cell, message in bad:
        with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
            DOMAIN.expand({"dataset": "fashionmnist", **cell})
    large = build_model("mlp_bn", GRAY)
    with pytest.raises(UserError, match="whole layer"):
        rebuild.check_kept(large, {"fc1": []}, "mlp_bn")


def test_cli_refuses_bad_structured_study_with_exit_2_and_writes_nothing(tmp_path):
    from click.testing import CliRunner

    from tickets.cli.main import cli

    study = tmp_path / "bad.py"
    study.write_text("from tickets.study import Grid, Study\n"
                     "study = Study('bad', Grid(datasets=['synthetic'], models=['lenet300'], "
                     "methods=['slimming'], sparsities=[0.5]))\n")
    home = tmp_path / "home"
    res = CliRunner().invoke(cli, ["--home", str(home), "study", "run", str(study)])
    assert res.exit_code == 2
    assert "lenet300 has no channel configuration" in res.output and len(res.output.strip().splitlines()) == 1
    assert not (home / "runs").exists() or not any((home / "runs").iterdir())


@pytest.mark.parametrize("name,info", [("cnn_small", GRAY), ("resnet56_l1", SMALL)])
def test_rebuild_agrees_with_torch_pruning(name, info):
    """torch-pruning's dependency graph, given the same dropped filters, yields the same network
    (an independent check of the channel groups where its semantics and ours agree)."""
    tp = pytest.importorskip("torch_pruning")
    torch.manual_seed(0)
    large = _trained_looking(build_model(name, info))
    kept = _random_kept(large, seed=4)
    small, _ = rebuild.rebuild(large, name, info, kept)
    pruned = copy.deepcopy(large)
    x = torch.randn(2, *info.shape)
    graph = tp.DependencyGraph().build_dependency(pruned, example_inputs=x)
    modules = dict(pruned.named_modules())
    for group in rebuild.groups_of(large):
        dropped = sorted(set(range(group.size)) - set(kept[group.name]))
        graph.get_pruning_group(modules[group.source], tp.prune_conv_out_channels
                                if isinstance(modules[group.source], nn.Conv2d) else tp.prune_linear_out_channels,
                                idxs=dropped).prune()
    assert [t.shape for t in pruned.state_dict().values()] == [t.shape for t in small.state_dict().values()]
    small.eval(), pruned.eval()
    with torch.no_grad():
        torch.testing.assert_close(small(x), pruned(x), rtol=1e-4, atol=1e-5)


def test_structured_runs_end_to_end_with_size_columns(tmp_path):
    """A small study on `synthetic`: the shared dense training, a fine-tuned and a Scratch-B
    pipeline; Scratch-B trains int(3 x dense/small FLOPs) epochs; params/FLOPs land in the store;
    the smaller network is rebuilt from its run directory alone. Stages run in this process (the
    registry's worker function, then ingest), which is what a worker process does."""
    from registry.ingest import ingest
    from registry.plan import make_plan
    from registry.scheduler import write_stage
    from registry.store import Store
    from registry.worker import run_stage
    from tickets.study import load_study

    study = tmp_path / "s.py"
    study.write_text(
        "from tickets.study import Grid, Study\n"
        "from tickets.pruning.structured.methods import ChannelScale\n"
        "C = dict(datasets=['synthetic'], models=['mlp_bn'], train={'epochs': 3}, retrain={'epochs': 1})\n"
        "study = Study('s', Grid(methods=['dense'], sparsities=[0.0], **C),\n"
        "    Grid(methods=[ChannelScale(), ChannelScale(retrain='scratch_b')], sparsities=[0.3], **C))\n")
    home = tmp_path / "home"
    store = Store(home)
    plan = make_plan(load_study(study), store)
    pretrain, finetune_stage, scratch_stage = plan.stages.values()
    assert (pretrain.kind, finetune_stage.deps, scratch_stage.deps) == ("pretrain", {"pretrain": pretrain.key}, {})
    rundirs = [write_stage(store, key, plan) for key in plan.stages]
    assert [run_stage(d) for d in rundirs] == [0, 0, 0]
    ingest(store, rundirs)
    runs = Store(home).frame("SELECT key, method, json_extract_string(spec, '$.method.retrain') AS retrain, "
                             "params, flops, dense_params, dense_flops, achieved_sparsity, spec "
                             "FROM run_results ORDER BY method, retrain")
    dense_flops = 784 * 300 + 300 * 100 + 100 * 10
    small_flops = 784 * 210 + 210 * 70 + 70 * 10  # int(300 * 0.7), int(100 * 0.7)
    assert list(runs["flops"]) == [small_flops, small_flops, dense_flops]  # channel_scale x2, dense
    assert set(runs["dense_flops"]) == {dense_flops}
    assert list(runs["params"])[2] == list(runs["dense_params"])[2] == dense_flops + 2 * (300 + 100) + 10
    finetune, scratch_b = runs.iloc[0], runs.iloc[1]
    assert finetune["retrain"] == "finetune" and scratch_b["retrain"] == "scratch_b"
    assert json.loads(finetune["spec"])["retrain"]["epochs"] == 1 and json.loads(finetune["spec"])["retrain"]["lr"] == 0.001
    rundir = home / "runs" / scratch_b["key"]
    result = json.loads((rundir / "result.json").read_text())
    assert result["epochs"] == int(3 * dense_flops / small_flops) == 4
    assert json.loads((rundir / "flops.json").read_text())["epochs"] == 4
    structure = json.loads((rundir / "structure.json").read_text())
    net = build_model(structure["model"], dataset_info("synthetic"), **structure["model_options"])
    assert cost.count(net, (1, 28, 28))["params"] == scratch_b["params"]
    assert 0 < finetune["achieved_sparsity"] < 1


def test_unstructured_runs_record_params_and_flops_of_the_masked_network(tmp_path):
    """Size columns are not only for structured runs: a masked run counts only its kept weights."""
    from tickets.domain import DOMAIN

    (stage,) = DOMAIN.expand({"dataset": "synthetic", "model": "lenet300", "method": "random",
                              "sparsity": 0.9, "train": {"epochs": 1}})
    result = DOMAIN.run({"kind": stage.kind, "spec": stage.spec}, tmp_path, {}, lambda event: None)
    mask = torch.load(tmp_path / "mask.pt", weights_only=True)
    kept = sum(int(m.sum()) for m in mask.values())
    dense_weights = 784 * 300 + 300 * 100 + 100 * 10
    assert result["dense_flops"] == dense_weights and result["flops"] == kept  # one position per linear layer
    assert result["dense_params"] == dense_weights + 300 + 100 + 10
    assert result["params"] == kept + 300 + 100 + 10
    assert kept == round(0.1 * dense_weights)
