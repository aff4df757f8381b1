"""Layer-ratio rules against numbers recomputed here in plain Python, and the paper's figures."""
from __future__ import annotations

import math
from fractions import Fraction

import pytest
import torch

from registry.errors import UserError
from tickets.data import dataset_info
from tickets.models import build_model, model_family
from tickets.pruning.ratios import RATIOS, erk_densities, keep_counts, layers_of, plan_ratios


def shapes_of(model_name: str, dataset: str = "cifar10") -> list[tuple[str, tuple[int, ...]]]:
    with torch.device("meta"):
        net = build_model(model_name, dataset_info(dataset))
    return [(L.name, L.shape) for L in layers_of(net)]


def reference_smart(sizes: list[int], p: float, vgg: bool) -> list[int]:
    """The smart-ratio recipe of DESIGN.md written out independently: exact budgets with
    fractions, ratios as floats, the overflow tracked in whole weights."""
    n_layers = len(sizes)
    classifier_kept = int(Fraction(3, 10) * sizes[-1])
    goal = int(sum(sizes) * (1 - Fraction(str(p)))) - classifier_kept
    raw = []
    for l in range(1, n_layers):
        m = n_layers - l + 1
        raw.append((m * m + m) / (l * l if vgg else 1))
    scale = goal / sum(r * n for r, n in zip(raw, sizes))
    kept, excess = [], 0
    for r, n in zip(raw, sizes[:-1]):
        ratio = r * scale
        if ratio >= 1:
            excess += int((ratio - 1) * n)
            kept.append(n)
        else:
            room = int((1 - ratio) * n)
            if room < excess:  # the layer fills up completely
                excess -= room
                kept.append(n)
            else:
                kept.append(int(ratio * n) + excess)
                excess = 0
    assert excess == 0
    return kept + [classifier_kept]


@pytest.fixture(scope="module")
def vgg19():
    return shapes_of("vgg19")


@pytest.fixture(scope="module")
def resnet32():
    return shapes_of("resnet32")


def test_paper_networks_weight_counts(vgg19, resnet32):
    assert sum(math.prod(s) for _, s in vgg19) == 20_024_000
    assert sum(math.prod(s) for _, s in resnet32) == 1_855_584
    assert model_family("vgg19") == "vgg" and model_family("resnet32") == "resnet"


@pytest.mark.parametrize("p", [0.9, 0.95, 0.98])
def test_smart_vgg19_counts(vgg19, p):
    plan = plan_ratios("smart", vgg19, p, "vgg")
    expected = reference_smart([math.prod(s) for _, s in vgg19], p, vgg=True)
    assert [r["kept"] for r in plan.rows] == expected
    assert abs(plan.achieved_sparsity - p) < 1e-4
    assert plan.rows[-1]["keep_ratio"] == pytest.approx(0.3)


def test_smart_vgg19_paper_figures(vgg19):
    ratios = [r["keep_ratio"] for r in plan_ratios("smart", vgg19, 0.98, "vgg").rows]
    assert ratios[0] == 1.0 and ratios[1] == 1.0
    assert ratios[2] == pytest.approx(0.838, abs=1e-3)
    assert all(a >= b for a, b in zip(ratios[:-1], ratios[1:-1]))  # decays with depth


def test_smart_resnet32_counts(resnet32):
    plan = plan_ratios("smart", resnet32, 0.98, "resnet")
    expected = reference_smart([math.prod(s) for _, s in resnet32], 0.98, vgg=False)
    assert [r["kept"] for r in plan.rows] == expected
    assert abs(plan.achieved_sparsity - 0.98) < 1e-4
    assert plan.rows[-2]["keep_ratio"] == pytest.approx(0.0008, abs=5e-5)  # last conv
    assert plan.rows[-1]["keep_ratio"] == 0.3  # classifier: 384 of 1280
    assert len(plan.rows) == 34  # 31 convs on the main path + 2 shortcuts + classifier


def test_keep_counts_from_model_infers_family():
    with torch.device("meta"):
        net = build_model("vgg19", dataset_info("cifar10"))
    by_model = keep_counts("smart", net, 0.95)
    by_shapes = keep_counts("smart", [(L.name, L.shape) for L in layers_of(net)], 0.95, "vgg")
    assert by_model == by_shapes


def test_smart_on_mlp_prunes_hidden_linear_layers():
    layers = shapes_of("lenet300", "fashionmnist")
    plan = plan_ratios("smart", layers, 0.9, "mlp")
    sizes = [math.prod(s) for _, s in layers]
    assert [r["kept"] for r in plan.rows] == reference_smart(sizes, 0.9, vgg=False)
    assert plan.rows[0]["keep_ratio"] < 1 and plan.rows[-1]["keep_ratio"] == pytest.approx(0.3)


@pytest.mark.parametrize("rule,raw", [
    ("ascend", lambda l, L: l * l + l),
    ("linear", lambda l, L: L - l + 1),
    ("cubic", lambda l, L: (L - l + 1) ** 3),
    ("smart_uniform", lambda l, L: 1.0),
])
def test_ablations_scale_their_raw_scores(resnet32, rule, raw):
    plan = plan_ratios(rule, resnet32, 0.95, "resnet")
    rows = plan.rows[:-1]
    L = len(plan.rows)
    # no layer saturates at 0.95 on ResNet32, so ratio_l / raw_l is one constant
    consts = [r["keep_ratio"] / raw(i + 1, L) for i, r in enumerate(rows) if r["kept"] > 50]
    assert max(consts) / min(consts) == pytest.approx(1.0, abs=0.03)
    assert abs(plan.achieved_sparsity - 0.95) < 1e-4


def test_uniform_keeps_same_fraction(resnet32):
    plan = plan_ratios("uniform", resnet32, 0.9)
    for r in plan.rows:
        assert r["kept"] == int(r["weights"] * Fraction(1, 10))


@pytest.mark.parametrize("kind", ["erk", "er"])
def test_erk_densities_solve_the_budget(vgg19, kind):
    layers = layers_of(vgg19)
    p = 0.98
    dens = erk_densities(layers, p, kind)
    sizes = [L.weights for L in layers]
    assert sum(d * n for d, n in zip(dens, sizes)) == pytest.approx((1 - p) * sum(sizes), rel=1e-12)
    assert all(0 < d <= 1 for d in dens)

    def raw(shape):
        if kind == "er":
            return (shape[0] + shape[1]) / (shape[0] * shape[1])
        return sum(shape) / math.prod(shape)

    sparse = [(d, raw(L.shape)) for d, L in zip(dens, layers) if d < 1]
    eps = sparse[0][0] / sparse[0][1]
    for d, r in sparse:  # one epsilon for every non-dense layer
        assert d == pytest.approx(eps * r, rel=1e-12)
    for d, L in zip(dens, layers):  # dense layers are exactly those the epsilon would overfill
        assert (d == 1.0) == (eps * raw(L.shape) > 1)
    plan = plan_ratios(kind, vgg19, p)
    assert abs(plan.achieved_sparsity - p) < 1e-4


def test_erk_makes_small_layers_dense(vgg19):
    dens = erk_densities(layers_of(vgg19), 0.9, "erk")
    assert dens[0] == 1.0 and dens[-1] == 1.0 and dens[-2] < 0.1


def test_uniform_plus(resnet32):
    plan = plan_ratios("uniform_plus", resnet32, 0.98)
    ratios = [r["keep_ratio"] for r in plan.rows]
    assert ratios[0] == 1.0
    assert ratios[-1] >= 0.2
    middle = ratios[1:-1]
    assert max(middle) - min(middle) < 1e-3
    assert abs(plan.achieved_sparsity - 0.98) < 1e-4


def test_sparsity_zero_is_dense_for_every_rule(resnet32):
    for rule in RATIOS.names():
        plan = plan_ratios(rule, resnet32, 0.0)
        assert plan.kept == plan.total


@pytest.mark.parametrize("p", [1.0, -0.1, 1.5, float("nan")])
def test_sparsity_out_of_range(resnet32, p):
    with pytest.raises(UserError, match="sparsity"):
        plan_ratios("smart", resnet32, p)


def test_unreachable_targets_name_the_layer():
    big_classifier = [("conv.weight", (10, 1, 3, 3)), ("hidden.weight", (20, 90)), ("fc.weight", (1000, 100))]
    with pytest.raises(UserError, match="fc.weight"):
        plan_ratios("smart", big_classifier, 0.9)
    big_first = [("first.weight", (1000, 100)), ("mid.weight", (10, 10)), ("fc.weight", (10, 10))]
    with pytest.raises(UserError, match="first.weight"):
        plan_ratios("uniform_plus", big_first, 0.5)


def test_unknown_rule_lists_known():
    with pytest.raises(UserError, match="known: .*smart"):
        plan_ratios("smartest", [("a.weight", (3, 3))], 0.5)
