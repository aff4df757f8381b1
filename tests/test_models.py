"""The paper's networks: exact weight counts, layer order, initialisation, shapes and errors."""
from __future__ import annotations

import functools
import math

import pytest
import torch
from torch import nn

from registry.errors import UserError
from tickets.data import dataset_info
from tickets.models import (
    MODELS,
    build_model,
    count_prunable,
    model_family,
    model_names,
    prunable_layers,
    prunable_weights,
)

SHAPED = ["cifar100", "tinyimagenet", "fashionmnist"]  # one per input shape (3x32, 3x64, 1x28)


@functools.lru_cache(maxsize=None)
def _cached(name: str, dataset: str, options: tuple) -> nn.Module:
    return build_model(name, dataset_info(dataset), **dict(options))


def shared_model(name: str, dataset: str = "cifar10", **options) -> nn.Module:
    """A model for structure checks (built once per test session; do not modify it)."""
    return _cached(name, dataset, tuple(sorted(options.items())))


def test_registry_names_and_families():
    assert set(model_names()) >= {"vgg11", "vgg13", "vgg16", "vgg19", "resnet20", "resnet32",
                                  "resnet56", "resnet110", "lenet300", "lenet5",
                                  # channel-configurable networks for structured pruning (issue 12)
                                  "vgg16_l1", "vgg19_slim", "cnn_small", "mlp_bn", "resnet56_l1",
                                  "resnet110_l1", "preresnet164"}
    assert model_family("vgg19") == "vgg"
    assert model_family("resnet110") == "resnet"
    assert model_family("lenet300") == "mlp"
    assert model_family("lenet5") == "lenet"


def test_paper_weight_counts():
    assert count_prunable(shared_model("resnet32")) == 1_855_584
    assert count_prunable(shared_model("vgg19")) == 20_024_000
    # only the classifier changes with the class count
    assert count_prunable(shared_model("resnet32", "cifar100")) == 1_855_584 + 90 * 128
    assert count_prunable(shared_model("vgg19", "tinyimagenet")) == 20_024_000 + 190 * 512
    assert count_prunable(shared_model("lenet300", "mnist")) == 784 * 300 + 300 * 100 + 100 * 10
    assert count_prunable(shared_model("lenet5", "mnist")) == 6 * 25 + 16 * 6 * 25 + 400 * 120 + 120 * 84 + 84 * 10


def test_family_depths_and_widths():
    # ResNet depth 6n+2: 3n blocks x 2 convs + stem + 2 shortcuts + classifier
    for depth in (20, 32, 56, 110):
        n = (depth - 2) // 6
        assert len(prunable_layers(shared_model(f"resnet{depth}"))) == 6 * n + 1 + 2 + 1
    # width is the first stage's channel count; the paper's default is 32 (2x the original 16)
    narrow = shared_model("resnet32", width=16)
    assert shared_model("resnet20", width=16.0).conv1.out_channels == 16  # integral floats are fine (JSON)
    assert narrow.conv1.out_channels == 16 and narrow.fc.in_features == 64
    assert count_prunable(narrow) < count_prunable(shared_model("resnet32")) / 3
    for depth, convs in ((11, 8), (13, 10), (16, 13), (19, 16)):
        assert len(prunable_layers(shared_model(f"vgg{depth}"))) == convs + 1
    half = shared_model("vgg19", width=0.5)
    assert half.classifier.in_features == 256
    assert prunable_layers(half)[0][1].out_channels == 32


def test_resnet32_layer_order_shortcut_after_second_conv():
    names = [n for n, _ in prunable_layers(shared_model("resnet32"))]
    assert names[0] == "conv1" and names[-1] == "fc"
    i = names.index("layer2.0.shortcut.0")
    assert names[i - 2: i + 2] == ["layer2.0.conv1", "layer2.0.conv2", "layer2.0.shortcut.0", "layer2.1.conv1"]
    assert names.index("layer3.0.shortcut.0") == names.index("layer3.0.conv2") + 1
    assert sum("shortcut" in n for n in names) == 2
    assert [n for n, _ in prunable_weights(shared_model("resnet32"))][:2] == ["conv1.weight", "layer1.0.conv1.weight"]


def test_resnet32_structure_matches_paper():
    model = shared_model("resnet32")
    convs = [m for _, m in prunable_layers(model) if isinstance(m, nn.Conv2d)]
    assert all(c.bias is None for c in convs)
    assert {c.out_channels for c in convs} == {32, 64, 128}
    assert model.conv1.in_channels == 3 and model.fc.in_features == 128
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == len(convs)


def test_vgg19_structure_matches_paper():
    model = shared_model("vgg19")
    convs = [m for m in model.features if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 64, 128, 128] + [256] * 4 + [512] * 8
    assert all(c.bias is not None for c in convs)
    assert sum(isinstance(m, nn.MaxPool2d) for m in model.features) == 4
    assert isinstance(model.pool, nn.AvgPool2d) and model.pool.kernel_size == 2
    assert shared_model("vgg19", "tinyimagenet").pool.kernel_size == 4
    assert shared_model("vgg19", "fashionmnist").pool.kernel_size == 1
    assert isinstance(model.classifier, nn.Linear) and model.classifier.in_features == 512
    assert [n for n, _ in prunable_layers(model)][-1] == "classifier"


def test_resnet_init_statistics():
    torch.manual_seed(0)
    model = build_model("resnet32", dataset_info("cifar10"))
    for name, conv in prunable_layers(model)[:-1]:
        fan_out = conv.out_channels * conv.kernel_size[0] * conv.kernel_size[1]
        expected = math.sqrt(2.0 / fan_out)
        assert conv.weight.std().item() == pytest.approx(expected, rel=0.15 if conv.weight.numel() > 2000 else 0.3), name
    assert model.fc.weight.std().item() == pytest.approx(0.01, rel=0.1)
    assert torch.all(model.fc.bias == 0)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            assert torch.all(m.weight == 1) and torch.all(m.bias == 0)


def test_vgg_init_statistics():
    torch.manual_seed(0)
    model = build_model("vgg19", dataset_info("cifar10"))
    for name, conv in prunable_layers(model)[:-1]:
        expected = math.sqrt(2.0 / (9 * conv.in_channels))
        assert conv.weight.std().item() == pytest.approx(expected, rel=0.1), name
        assert torch.all(conv.bias == 0)
    assert model.classifier.weight.std().item() == pytest.approx(0.01, rel=0.1)
    assert torch.all(model.classifier.bias == 0)


def test_same_seed_same_weights():
    info = dataset_info("cifar10")
    torch.manual_seed(3)
    a = build_model("resnet20", info, width=8)
    torch.manual_seed(3)
    b = build_model("resnet20", info, width=8)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))


@pytest.mark.parametrize("name", ["vgg11", "vgg13", "vgg16", "vgg19", "resnet20", "resnet32", "resnet56", "resnet110"])
@pytest.mark.parametrize("dataset", SHAPED)
def test_forward_shapes(name, dataset):
    info = dataset_info(dataset)
    # narrow widths keep this fast; the shape logic does not depend on width
    width = 0.125 if name.startswith("vgg") else 4
    torch.manual_seed(0)
    model = build_model(name, info, width=width).eval()
    with torch.no_grad():
        out = model(torch.randn(2, *info.shape))
    assert out.shape == (2, info.num_classes)


@pytest.mark.parametrize("name", ["lenet300", "lenet5"])
@pytest.mark.parametrize("dataset", ["mnist", "fashionmnist", "synthetic"])
def test_lenet_forward(name, dataset):
    info = dataset_info(dataset)
    model = build_model(name, info).eval()
    with torch.no_grad():
        assert model(torch.randn(3, 1, 28, 28)).shape == (3, 10)


@pytest.mark.parametrize("name", ["lenet300", "lenet5"])
def test_lenet_rejects_other_shapes(name):
    with pytest.raises(UserError, match=f"model {name} needs 28x28 grayscale input; dataset cifar10 is 3x32x32"):
        build_model(name, dataset_info("cifar10"))
    with pytest.raises(UserError, match="tinyimagenet is 3x64x64"):
        build_model(name, dataset_info("tinyimagenet"))


def test_unknown_model_lists_known():
    with pytest.raises(UserError, match=r"unknown model 'resnet33'.*did you mean.*known: .*resnet32.*vgg19"):
        build_model("resnet33", dataset_info("cifar10"))


def test_unknown_option_lists_accepted():
    with pytest.raises(UserError, match=r"unknown option 'depth' for model vgg19; accepted options: width \(default 1.0\)"):
        build_model("vgg19", dataset_info("cifar10"), depth=3)
    with pytest.raises(UserError, match="accepted options: none"):
        build_model("lenet5", dataset_info("mnist"), width=2)


@pytest.mark.parametrize("name,width", [("resnet32", 0), ("resnet32", 2.5), ("vgg19", -1.0), ("vgg19", "wide")])
def test_bad_width(name, width):
    with pytest.raises(UserError, match="width must be a positive"):
        build_model(name, dataset_info("cifar10"), width=width)


def test_every_registered_model_is_buildable_on_a_compatible_dataset():
    for name in MODELS.names():
        dataset = "mnist" if model_family(name) in ("mlp", "lenet") else "cifar10"
        assert count_prunable(shared_model(name, dataset)) > 0
