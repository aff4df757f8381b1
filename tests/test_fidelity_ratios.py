"""Collapsed ratio rules warn (docs/FIDELITY.md item 9): `ascend` on ResNet32 empties the first conv,
as the released SmartRatio does; `tickets ratios`, `study plan` and the report say so."""
from __future__ import annotations

import math

import pandas as pd
from click.testing import CliRunner

from registry.report import Axis, Report, Row, make_table
from tickets.cli.main import cli
from tickets.data import dataset_info
from tickets.domain import _layers


def released_ascend_first_layer(sizes, linear, p):
    """pruner/SmartRatio.py with --ascend 1 and arch 'resnet' (no 1/l^2 term): ratio_j = (j+1)^2 + (j+1)
    for layer j, scaled by k = goal / Σ_conv int(N_j·ratio_j); the first conv keeps int(ratio_0·k·N_0)
    (the redistribution loop stops at layer 0 when its ratio is below 1)."""
    ratio = [(j + 1) ** 2 + (j + 1) for j in range(len(sizes))]
    test = sum(int(n * r) for n, r in zip(sizes[:-1], ratio[:-1]))
    goal = int(sum(sizes) * (1 - p)) - int(linear * 0.3)
    return int(ratio[0] * goal / test * sizes[0])


def test_ascend_on_resnet32_empties_the_first_conv_and_ratios_says_so():
    sizes = [math.prod(shape) for _, shape in _layers("resnet32", dataset_info("cifar10"), "{}")]
    for p in (0.9, 0.95, 0.98):
        assert released_ascend_first_layer(sizes, sizes[-1], p) == 0
        result = CliRunner().invoke(cli, ["ratios", "resnet32", "--rule", "ascend", "--sparsity", str(p), "--json"])
        assert result.exit_code == 0
        assert f"warning: rule ascend at sparsity {p:g} keeps 0 of 864 weights in first layer conv1.weight" in result.stderr
        assert "chance accuracy" in result.stderr
    quiet = CliRunner().invoke(cli, ["ratios", "resnet32", "--rule", "smart", "--sparsity", "0.98"])
    assert quiet.exit_code == 0 and "warning" not in quiet.stderr


def test_study_plan_warns_about_collapsing_rules(tmp_path):
    study = tmp_path / "s.py"
    study.write_text(
        "from tickets.pruning.methods import RandomTickets\n"
        "from tickets.study import Grid, Study\n"
        "study = Study('s', Grid(datasets=('cifar10',), models=('resnet32', 'vgg19'),\n"
        "    methods=(RandomTickets(rule='ascend'), RandomTickets(rule='smart')), sparsities=(0.9,), seeds=(0,)))\n")
    result = CliRunner().invoke(cli, ["--home", str(tmp_path / "home"), "study", "plan", str(study)])
    assert result.exit_code == 0, result.output
    lines = [l for l in result.stderr.splitlines() if "keeps 0 of" in l]
    assert lines == ["warning: resnet32 on cifar10 (random_tickets): rule ascend at sparsity 0.9 keeps 0 of "
                     "864 weights in first layer conv1.weight: disconnects the network: every input gives "
                     "the same output, chance accuracy"]


def test_report_footnote_names_collapsed_rows():
    report = Report(name="t", title="t", columns=(Axis("sparsity"),),
                    rows=(Row("smart", "smart", {"variant": ""}), Row("ascend", "ascend", {"variant": "rule=ascend"})),
                    chance={"cifar10": 10.0}, seeds=2)
    runs = pd.DataFrame([{"key": f"{v}{s}", "kind": "ticket", "status": "done", "dataset": "cifar10",
                          "model": "resnet32", "method": "random_tickets", "check": "none", "sparsity": 0.9,
                          "seed": s, "variant": v, "test_acc": acc, "best_test_acc": acc,
                          "collapsed": v != "", "achieved_sparsity": 0.9}
                         for v, acc in (("", 90.0), ("rule=ascend", 10.0)) for s in (0, 1)])
    table = make_table(report, runs=runs)
    notes = [f for f in table.footnotes if f.startswith("Collapsed")]
    assert len(notes) == 1 and "ascend" in notes[0] and "smart" not in notes[0]
