"""Mask building blocks: exact top-k with ties, random layer-wise masks, apply and per-layer stats."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from registry.errors import UserError
from tickets.pruning.masks import (
    achieved_sparsity,
    apply_mask,
    collapsed,
    collapsed_layers,
    full_mask,
    global_topk_mask,
    layer_stats,
    layerwise_topk_mask,
    mask_counts,
    prunable_weights,
    random_layerwise_mask,
)


def tiny_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(),
                         nn.Linear(3 * 4 * 4, 8), nn.ReLU(), nn.Linear(8, 4))


def test_prunable_weights_in_order():
    names = [n for n, _ in prunable_weights(tiny_net())]
    assert names == ["0.weight", "4.weight", "6.weight"]


def test_global_topk_keeps_exactly_k_with_ties():
    scores = {"a": torch.tensor([[3.0, 1.0], [1.0, 1.0]]), "b": torch.tensor([1.0, 5.0, 1.0])}
    for k in range(0, 8):
        mask = global_topk_mask(scores, k)
        assert sum(mask_counts(mask).values()) == k
    mask = global_topk_mask(scores, 3)
    # 5 and 3 first, then the earliest tied 1.0 (layer a, flat index 1)
    assert mask["a"].tolist() == [[True, True], [False, False]]
    assert mask["b"].tolist() == [False, True, False]
    again = global_topk_mask(scores, 3)
    assert all(torch.equal(again[n], mask[n]) for n in mask)  # deterministic


def test_global_topk_smallest_and_include():
    scores = {"a": torch.tensor([4.0, -1.0, 2.0]), "b": torch.tensor([0.5, 3.0]), "fc": torch.tensor([9.0, -9.0])}
    low = global_topk_mask(scores, 2, largest=False)
    assert low["a"].tolist() == [False, True, False] and low["fc"].tolist() == [False, True]
    only = global_topk_mask(scores, 2, include=["a", "b"])
    assert only["a"].tolist() == [True, False, False] and only["b"].tolist() == [False, True]
    assert only["fc"].all()  # excluded layers stay dense
    with pytest.raises(UserError):
        global_topk_mask(scores, 8)


def test_layerwise_topk():
    scores = {"a": torch.tensor([4.0, -1.0, 2.0, 7.0]), "b": torch.tensor([0.5, 3.0])}
    mask = layerwise_topk_mask(scores, {"a": 2, "b": 0})
    assert mask["a"].tolist() == [True, False, False, True] and not mask["b"].any()
    assert layerwise_topk_mask(scores, {"a": 1})["b"].all()


def test_random_layerwise_exact_and_seeded():
    shapes = {"a": (10, 20), "b": (50,)}
    counts = {"a": 37, "b": 5}
    m1 = random_layerwise_mask(counts, shapes, torch.Generator().manual_seed(1))
    m2 = random_layerwise_mask(counts, shapes, torch.Generator().manual_seed(1))
    m3 = random_layerwise_mask(counts, shapes, torch.Generator().manual_seed(2))
    assert mask_counts(m1) == counts and mask_counts(m3) == counts
    assert all(torch.equal(m1[n], m2[n]) for n in shapes)
    assert not torch.equal(m1["a"], m3["a"])
    assert m1["a"].shape == (10, 20)


def test_random_layerwise_bernoulli_matches_in_expectation():
    shapes = {"a": (200, 100)}
    m = random_layerwise_mask({"a": 2000}, shapes, torch.Generator().manual_seed(0), bernoulli=True)
    assert abs(int(m["a"].sum()) - 2000) < 5 * (2000 * 0.9) ** 0.5


def test_apply_mask_and_stats():
    net = tiny_net()
    mask = full_mask(net)
    mask["4.weight"][:, :10] = False
    mask["6.weight"][:] = False
    apply_mask(net, mask)
    w = dict(prunable_weights(net))
    assert (w["4.weight"][:, :10] == 0).all() and (w["4.weight"][:, 10:] != 0).all()
    stats = layer_stats(net, mask)
    assert [r["layer"] for r in stats] == ["0.weight", "4.weight", "6.weight"]
    assert [r["kept"] for r in stats] == [27, 8 * 38, 0]
    assert stats[1]["keep_ratio"] == pytest.approx(38 / 48)
    assert achieved_sparsity(stats) == pytest.approx(1 - (27 + 304) / (27 + 384 + 32))
    assert collapsed(stats) and collapsed_layers(stats) == ["6.weight"]
    assert not collapsed(layer_stats(net, None))
    assert achieved_sparsity(layer_stats(net, {})) == 0.0
