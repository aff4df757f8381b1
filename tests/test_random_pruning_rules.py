"""The Random Pruning paper's remaining layer-wise ratios: ERK+ (released ImageNet/core.py
`ERK_plus`) and the SNIP / GraSP ratios (`--sparse_init snip` / `GraSP`: a scored mask's per-layer
counts, positions re-drawn). ERK+ is compared with a re-implementation of the released loop."""
from __future__ import annotations

import math

import numpy as np
import pytest

from registry.errors import UserError
from tickets.pruning import steps
from tickets.pruning.methods import method_from
from tickets.pruning.ratios import Layer, RATIOS, keep_counts, parse_rule, plan_ratios, scored_rule

from test_fidelity_scoring import Tiny, context

pytestmark = pytest.mark.usefixtures("single_thread")

RESNETISH = [Layer("conv.weight", (16, 3, 3, 3)), Layer("layer1.0.conv1.weight", (16, 16, 3, 3)),
             Layer("layer2.0.conv1.weight", (32, 16, 3, 3)), Layer("layer3.0.conv1.weight", (64, 32, 3, 3)),
             Layer("layer3.0.conv2.weight", (64, 64, 3, 3)), Layer("fc.weight", (100, 64))]


def released_erk_plus(shapes: dict[str, tuple], density: float, fc_density: float) -> dict[str, float]:
    """ImageNet/core.py `mode == 'ERK_plus'`: drop fc from the ERK solve, re-aim the rest's density,
    ERK loop (the largest raw probability made dense until epsilon fits), fc at fc_density."""
    masks = dict(shapes)
    total = sum(np.prod(s) for s in masks.values())
    baseline = total * density
    for name in list(masks):
        if "fc.weight" in name:
            total -= np.prod(masks[name])
            density = (baseline - np.prod(masks[name]) * fc_density) / total
            masks.pop(name)
    dense_layers, valid = set(), False
    while not valid:
        divisor, rhs, raw = 0, 0, {}
        for name, shape in masks.items():
            n = np.prod(shape)
            if name in dense_layers:
                rhs -= n * (1 - density)
            else:
                rhs += n * density
                raw[name] = np.sum(shape) / np.prod(shape)
                divisor += raw[name] * n
        eps = rhs / divisor
        top = max(raw.values())
        if top * eps > 1:
            dense_layers |= {k for k, v in raw.items() if v == top}
        else:
            valid = True
    out = {name: 1.0 if name in dense_layers else eps * raw[name] for name in masks}
    out["fc.weight"] = fc_density
    return out


@pytest.mark.parametrize("sparsity,fc_density", [(0.5, 1.0), (0.9, 1.0), (0.95, 0.5), (0.98, 0.2)])
def test_erk_plus_matches_the_released_loop(sparsity, fc_density):
    want = released_erk_plus({L.name: L.shape for L in RESNETISH}, 1 - sparsity, fc_density)
    rule = "erk_plus" if fc_density == 1.0 else f"erk_plus:fc_density={fc_density}"
    got = keep_counts(rule, RESNETISH, sparsity)
    for L in RESNETISH:
        assert abs(got[L.name] - want[L.name] * L.weights) < 1.0, (L.name, got[L.name], want[L.name] * L.weights)
    assert got["fc.weight"] == math.floor(fc_density * 6400)
    assert abs(sum(got.values()) - (1 - sparsity) * sum(L.weights for L in RESNETISH)) < len(RESNETISH)


def test_erk_plus_options_and_ranges_are_checked():
    assert parse_rule("erk_plus:fc_density=0.3") == ("erk_plus", {"fc_density": 0.3})
    with pytest.raises(UserError, match="fc_density must be in"):
        keep_counts("erk_plus:fc_density=1.5", RESNETISH, 0.9)
    with pytest.raises(UserError, match="accepted options: fc_density"):
        parse_rule("erk_plus:fc=0.3")
    with pytest.raises(UserError, match="accepted options: none"):
        parse_rule("erk:fc_density=0.3")
    with pytest.raises(UserError, match="lower fc_density"):  # a dense classifier exceeds the budget
        keep_counts("erk_plus", [Layer("a", (4, 4)), Layer("fc.weight", (10, 400))], 0.5)
    assert method_from("random_tickets", {"rule": "erk_plus:fc_density=0.5"}).rule == "erk_plus:fc_density=0.5"
    with pytest.raises(UserError, match="random_tickets: ratio rule erk_plus: bad option"):
        method_from("random_tickets", {"rule": "erk_plus:x=1"})


def test_scored_rules_are_registered_and_refuse_a_plan_without_data():
    assert {"erk_plus", "snip_ratio", "grasp_ratio"} <= set(RATIOS.names())
    assert scored_rule("snip_ratio") == "snip" and scored_rule("grasp_ratio") == "grasp"
    assert scored_rule("erk_plus") is None
    with pytest.raises(UserError, match="snip mask of the network at initialisation"):
        plan_ratios("snip_ratio", RESNETISH, 0.9)
    # data checks apply to random tickets with a scored rule only
    assert method_from("random_tickets", {"rule": "snip_ratio"}).uses_data is True
    assert method_from("random_tickets").uses_data is False
    assert method_from("random_tickets").identity() == {"name": "random_tickets"}  # keys unchanged


@pytest.mark.parametrize("scorer", ["snip", "grasp"])
def test_scored_ratio_keeps_the_scored_masks_counts_at_new_positions(tmp_path, scorer):
    net = Tiny()
    scored_ctx = context(tmp_path / "s", method=scorer)
    scored = method_from(scorer).resolved("cifarish", "tiny")
    options = dict(samples_per_class=scored.samples_per_class, iterations=scored.iterations, augment=scored.augment)
    if scorer == "grasp":
        options.update(half_batches=scored.half_batches, temperature=scored.temperature,
                       reinit_classifier=scored.reinit_classifier)
    want = steps.scored_global_mask(scored_ctx, net, scorer, **options)
    ctx = context(tmp_path / "r", method="random_tickets")
    ctx.method = method_from("random_tickets", {"rule": f"{scorer}_ratio"})
    got = steps.random_layerwise_mask(ctx, net, f"{scorer}_ratio")
    assert {n: int(m.sum()) for n, m in got.items()} == {n: int(m.sum()) for n, m in want.items()}
    moved = sum(int((got[n] != want[n]).sum()) for n in got)
    assert moved > 0  # positions are re-drawn, not the scored ones


def test_rules_listing_shows_the_new_rules():
    from click.testing import CliRunner

    from tickets.cli.main import cli

    out = CliRunner().invoke(cli, ["rules"])
    assert out.exit_code == 0, out.output
    for name in ("erk_plus", "snip_ratio", "grasp_ratio"):
        assert name in out.output


def test_data_checks_apply_to_scored_rules_only():
    from tickets.domain import DOMAIN

    def cell(rule):
        return {"dataset": "cifar10", "model": "resnet32", "method": "random_tickets",
                "method_options": {"rule": rule}, "check": "corrupt", "sparsity": 0.9, "seed": 0}

    assert DOMAIN.expand(cell("snip_ratio"))[-1].identity["method"] == {"name": "random_tickets", "rule": "snip_ratio"}
    with pytest.raises(UserError, match="uses no data"):
        DOMAIN.expand(cell("erk_plus"))
