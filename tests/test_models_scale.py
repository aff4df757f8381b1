"""The Random Pruning paper's scale networks: WRN, resnet44, and the CPU width/depth MLP."""
from __future__ import annotations

import pytest
import torch

from registry.errors import UserError
from tickets.data import dataset_info
from tickets.models import build_model, count_prunable, model_family, model_options, prunable_layers


def test_wrn28_10_has_the_published_parameter_count():
    # WRN-28-10 on CIFAR-10: 36.5 M parameters (Zagoruyko & Komodakis, Table 1)
    net = build_model("wrn28_10", dataset_info("cifar10"))
    assert sum(p.numel() for p in net.parameters()) == pytest.approx(36.5e6, rel=0.01)
    assert model_family("wrn28_10") == "resnet" and prunable_layers(net)[-1][0] == "fc"


def test_wrn_options_and_shapes():
    net = build_model("wrn", dataset_info("cifar100"), depth=16, widen=2)
    assert net(torch.zeros(2, 3, 32, 32)).shape == (2, 100)
    convs = [m for _, m in prunable_layers(net) if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 1 + 2 * 6 + 3  # stem, 2 convs x 2 blocks x 3 stages, 3 projection shortcuts
    with pytest.raises(UserError, match="6n\\+4"):
        build_model("wrn", dataset_info("cifar10"), depth=27)


def test_resnet44_is_the_same_family_with_the_same_width_option():
    assert model_options("resnet44") == model_options("resnet20")
    net = build_model("resnet44", dataset_info("cifar10"), width=16)
    # 6n+2 with n = 7: stem + 42 block convs + 2 shortcuts + fc
    assert len(prunable_layers(net)) == 1 + 42 + 2 + 1


def test_mlp_width_and_depth():
    info = dataset_info("fashionmnist")
    net = build_model("mlp", info, width=32, depth=3)
    assert [tuple(m.weight.shape) for _, m in prunable_layers(net)] == [(32, 784), (32, 32), (32, 32), (10, 32)]
    assert count_prunable(build_model("mlp", info)) == 784 * 100 + 100 * 100 + 100 * 10
    with pytest.raises(UserError, match="positive integer"):
        build_model("mlp", info, width=0)
