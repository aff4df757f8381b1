"""ImageNet networks (tickets/models/imagenet.py) and the predefined pruned architectures of
"Rethinking the Value of Network Pruning" (tickets/pruning/structured/imagenet_presets.py).

Sizes are counted on the meta device (no weights drawn), FLOPs in the product's convention:
conv + linear multiply-accumulates on one 224x224 image (tickets/pruning/structured/cost.py).
Where each expected figure comes from is said next to it."""
from __future__ import annotations

import functools
import json

import pytest
import torch

from tickets.data.info import DatasetInfo
from tickets.models import build_model, model_names, prunable_layers
from tickets.pruning.structured import rebuild
from tickets.pruning.structured.cost import count
from tickets.pruning.structured.imagenet_presets import PRESETS, preset_options, resnet34_counts
from tickets.pruning.structured.methods import scratch_b_epochs

IMAGENET = DatasetInfo("imagenet", 3, 224, 1000, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
SMALL = DatasetInfo("tiny", 3, 32, 10, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))


def sizes(name: str, info: DatasetInfo = IMAGENET, **options) -> dict[str, int]:
    return dict(_sizes(name, info, json.dumps(options, sort_keys=True)))


@functools.lru_cache(maxsize=None)
def _sizes(name: str, info: DatasetInfo, options: str) -> tuple:
    with torch.device("meta"):
        return tuple(count(build_model(name, info, **json.loads(options)), info.shape).items())


# torchvision's documented sizes (weights meta "num_params" and "_ops" GFLOPS = multiply-adds)
@pytest.mark.parametrize("name,params,gflops", [
    ("resnet18_imagenet", 11_689_512, 1.814),
    ("resnet34_imagenet", 21_797_672, 3.664),
    ("resnet50_imagenet", 25_557_032, 4.089),
    ("wide_resnet50_2_imagenet", 68_883_240, 11.398),
    ("vgg16_bn_imagenet", 138_365_992, 15.470),
])
def test_sizes_match_torchvision(name, params, gflops):
    s = sizes(name)
    assert s["params"] == params
    assert s["flops"] / 1e9 == pytest.approx(gflops, abs=0.001)


def test_names_do_not_collide_with_cifar_families():
    names = set(model_names())
    imagenet = {n for n in names if n.endswith("_imagenet")}
    assert {"resnet50_imagenet", "resnet152_imagenet", "wide_resnet50_2_imagenet", "vgg11_bn_imagenet",
            "vgg16_bn_imagenet", "vgg16_imagenet", "vgg11_slim_imagenet"} <= imagenet
    assert {"vgg16", "resnet56"} <= names  # the CIFAR names keep their meaning


def test_small_input_trains_forward_and_classifier_last():
    torch.manual_seed(0)
    net = build_model("resnet18_imagenet", SMALL)
    assert prunable_layers(net)[-1][0] == "fc"
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    vgg = build_model("vgg11_bn_imagenet", SMALL)
    assert prunable_layers(vgg)[-1][0] == "classifier.6"
    assert vgg(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_fanin_init_is_kaiming_fan_in():
    torch.manual_seed(0)
    net = build_model("resnet18_imagenet", SMALL, init="fanin")
    w = net.layer4[0].conv1.weight  # in 256 x 9 = 2304 (fan_in), out 512 x 9 = 4608 (fan_out)
    assert float(w.detach().std()) == pytest.approx((2 / 2304) ** 0.5, rel=0.05)
    torch.manual_seed(0)
    default = build_model("resnet18_imagenet", SMALL).layer4[0].conv1.weight
    assert float(default.detach().std()) == pytest.approx((2 / 4608) ** 0.5, rel=0.05)


def test_bad_options_are_one_line():
    from registry.errors import UserError

    with pytest.raises(UserError, match="init must be one of"):
        build_model("resnet18_imagenet", SMALL, init="xavier")
    with pytest.raises(UserError, match="channels has 3 entries"):
        build_model("resnet18_imagenet", SMALL, channels=[1, 2, 3])
    with pytest.raises(UserError, match="units"):
        build_model("resnet50_imagenet", SMALL, units=[[9, True]] * 4)


def test_bottleneck_channels_select_units_build_and_run():
    torch.manual_seed(0)
    options = preset_options("resnet50_2x")
    net = build_model("resnet50_imagenet", SMALL, **options)
    assert net.layer1[0].select.index.numel() == 35 and net.layer1[0].conv1.in_channels == 35
    assert net.eval()(torch.randn(1, 3, 32, 32)).shape == (1, 10)
    sss = build_model("resnet50_imagenet", SMALL, **preset_options("resnet26_sss"))
    assert [len(getattr(sss, f"layer{i}")) for i in range(1, 5)] == [1, 3, 6, 1]
    assert sss.eval()(torch.randn(1, 3, 32, 32)).shape == (1, 10)


# Predefined architectures. Expected figures and their sources:
# - Scratch-B epoch counts printed by the released READMEs (fetched, confirmed): ThiNet-70 141, every
#   other ThiNet network 180 (thinet/README.md); ResNet-41/32/26 117/145/179 of a 100-epoch schedule
#   (sparse-structure-selection/README.md); VGG-5x 180 and ResNet-2x 132 (regression-pruning/README.md).
# - Params in millions as the ThiNet paper's tables print them, from memory (NOT confirmed against a
#   fetched copy): VGG-GAP 8.32, VGG-Tiny 1.32, ThiNet-50 12.38, ThiNet-30 8.66, ThiNet-70 16.94.
@pytest.mark.parametrize("arch,base_epochs,epochs", [
    ("thinet_conv", 90, 180), ("thinet_gap", 90, 180), ("thinet_tiny", 90, 180), ("thinet30", 90, 180),
    ("thinet50", 90, 180), ("thinet70", 90, 141), ("vgg16_5x", 90, 180),
    ("resnet41_sss", 100, 117), ("resnet32_sss", 100, 145), ("resnet26_sss", 100, 179),
])
def test_scratch_b_epochs_match_released_readmes(arch, base_epochs, epochs):
    p = PRESETS[arch]
    dense, small = sizes(p.model), sizes(p.model, **preset_options(arch))
    assert scratch_b_epochs(base_epochs, dense["flops"], small["flops"], 2.0) == epochs


def test_resnet50_2x_scratch_b_differs_from_readme_by_the_flops_convention():
    """The released count adds BN, ReLU, pooling and bias operations: 132 epochs there, 134 with
    multiply-accumulates of conv + linear layers only (docs/ARCHITECTURE.md, ImageNet section)."""
    dense, small = sizes("resnet50_imagenet"), sizes("resnet50_imagenet", **preset_options("resnet50_2x"))
    assert scratch_b_epochs(90, dense["flops"], small["flops"], 2.0) == 134


@pytest.mark.parametrize("arch,million", [("thinet_gap", 8.32), ("thinet_tiny", 1.33), ("thinet50", 12.38),
                                          ("thinet30", 8.67), ("thinet70", 16.95)])
def test_thinet_params_as_recalled_from_the_thinet_paper(arch, million):
    p = PRESETS[arch]
    assert sizes(p.model, **preset_options(arch))["params"] / 1e6 == pytest.approx(million, abs=0.015)


def test_resnet34_a_b_widths_and_reductions():
    """Kept widths follow prune.py; reductions vs the full ResNet-34 are Li et al.'s Table (from memory,
    NOT confirmed against a fetched copy): A 15.5 % FLOPs / 7.6 % params, B 24.2 % / 10.8 %."""
    a, b = resnet34_counts("A"), resnet34_counts("B")
    assert list(a.values()) == [64, 44, 44, 128, 89, 89, 128, 256, 179, 179, 179, 179, 256, 512, 512, 512]
    assert list(b.values()) == [64, 32, 32, 128, 51, 51, 128, 256, 153, 153, 153, 153, 256, 512, 512, 512]
    dense = sizes("resnet34_imagenet")
    for counts, flops_cut, params_cut in ((a, 0.155, 0.076), (b, 0.242, 0.108)):
        with torch.device("meta"):
            groups = build_model("resnet34_imagenet", IMAGENET).channel_groups()
        small = sizes("resnet34_imagenet", channels=[counts[g.name] for g in groups])
        assert 1 - small["flops"] / dense["flops"] == pytest.approx(flops_cut, abs=0.002)
        assert 1 - small["params"] / dense["params"] == pytest.approx(params_cut, abs=0.002)


def test_l1_filter_rebuild_of_resnet34_keeps_the_largest_filters():
    from tickets.pruning.structured.select import l1_kept

    torch.manual_seed(0)
    big = build_model("resnet34_imagenet", SMALL).eval()
    kept = l1_kept(big, resnet34_counts("B"), "resnet34_imagenet")
    small, channels = rebuild.rebuild(big, "resnet34_imagenet", SMALL, kept)
    assert channels[1] == 32 and small.layer1[1].conv1.out_channels == 32
    x = torch.randn(2, 3, 32, 32)
    rebuild.mask_dropped(big, kept)
    assert torch.allclose(small.eval()(x), big(x), atol=1e-5)


def test_slimming_vgg_rebuild_slices_the_flattened_classifier_input():
    torch.manual_seed(0)
    big = build_model("vgg11_slim_imagenet", SMALL).eval()
    kept = {"conv8": list(range(0, 512, 2)), "fc1": list(range(100))}
    small, channels = rebuild.rebuild(big, "vgg11_slim_imagenet", SMALL, kept)
    assert channels[7] == 256 and channels[8] == 100
    assert small.classifier[0].in_features == 256 * 49
    x = torch.randn(2, 3, 32, 32)
    rebuild.mask_dropped(big, kept)
    assert torch.allclose(small.eval()(x), big(x), atol=1e-4)


def test_predefined_method_refuses_what_it_cannot_do():
    from registry.errors import UserError
    from tickets.domain import DOMAIN
    from tickets.pruning.structured.predefined import Predefined

    with pytest.raises(UserError, match="retrain must be one of scratch_e, scratch_b"):
        Predefined(arch="thinet50", retrain="finetune").validate()
    with pytest.raises(UserError, match="unknown predefined architecture 'thinet99'"):
        Predefined(arch="thinet99").validate()
    cell = {"dataset": "imagenet", "model": "resnet34_imagenet", "method": "predefined",
            "method_options": {"arch": "thinet50"}, "sparsity": 0.0, "seed": 0}
    with pytest.raises(UserError, match="is cut from resnet50_imagenet, not resnet34_imagenet"):
        DOMAIN.expand(cell)
    stages = DOMAIN.expand({**cell, "model": "resnet50_imagenet"})
    assert [s.kind for s in stages] == ["ticket"] and stages[0].deps == {}  # no large model to train


def test_cost_knows_predefined_scratch_b_epochs_and_224px_compute():
    from tickets.cost import stage_epochs, training_work

    spec = {"dataset": "imagenet", "model": "resnet50_imagenet", "model_options": {},
            "train": {"epochs": 100, "batch_size": 256},
            "method": {"name": "predefined", "arch": "resnet41_sss", "retrain": "scratch_b", "max_scale": 2.0}}
    assert stage_epochs(spec) == (117, False)  # the sparse-structure-selection README's schedule
    assert stage_epochs({**spec, "method": {"name": "l1_filter", "retrain": "scratch_b"}}) == (200, True)
    (work,), unknown = training_work([{"kind": "ticket", "spec": spec}])
    small = sizes("resnet50_imagenet", **preset_options("resnet41_sss"))["flops"]
    assert not unknown and work.macs == pytest.approx(117 * small * (3 * 1_281_167 + 50_000))
