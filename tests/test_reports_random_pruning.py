"""The Random Pruning report declarations: rules as rows via the spec, the paper's depth values beside
ours, and the scale figure (accuracy and gap to dense against depth)."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from registry.report import make_table
from registry.report.figures import plot_report
from registry.report.loader import load_report

REPORTS = Path(__file__).resolve().parents[1] / "reports"


def _runs():
    rows = []
    for model, base in (("resnet20", 92.0), ("resnet56", 93.0)):
        for seed in range(3):
            spec = {"model_options": {"width": 16}, "method": {"name": "dense"}}
            rows.append(dict(key=f"d{model}{seed}", dataset="cifar10", model=model, method="dense", check="none",
                             sparsity=0.0, seed=seed, test_acc=base + 0.1 * seed, spec=json.dumps(spec)))
            for rule, drop in (("erk", 1.0), ("uniform", 2.0)):
                for sparsity in (0.5, 0.9):
                    spec = {"model_options": {"width": 16}, "method": {"name": "random_tickets", "rule": rule}}
                    rows.append(dict(key=f"{model}{rule}{sparsity}{seed}", dataset="cifar10", model=model,
                                     method="random_tickets", check="none", sparsity=sparsity, seed=seed,
                                     test_acc=base - drop * sparsity + 0.1 * seed, spec=json.dumps(spec)))
    return pd.DataFrame(rows)


def test_depth_report_rows_by_rule_and_the_papers_values_beside_ours():
    report, folder = load_report(REPORTS, "random_pruning_depth")
    table = make_table(report, runs=_runs(), compare="paper", folder=folder)
    cells = {(s.label, r.key, c.coords.get("sparsity"), c.coords["dataset"]): c
             for s in table.sections for r in s.rows for c in r.cells if not c.blank}
    erk = cells[("ResNet-20", "erk", 0.9, "cifar10")]
    assert erk.mean == pytest.approx(92.0 - 0.9 + 0.1) and erk.n == 3
    assert erk.paper.mean == pytest.approx(87.79)
    dense = cells[("ResNet-56", "dense", None, "cifar10")]
    assert dense.mean == pytest.approx(93.1) and dense.paper.mean == pytest.approx(93.15)
    assert cells[("ResNet-44", "erk", 0.9, "cifar10")].missing


def test_depth_figure_draws_accuracy_and_gap_to_dense(tmp_path):
    from registry.report.aggregate import stats_from_frame

    report, _ = load_report(REPORTS, "random_pruning_depth")
    stats = stats_from_frame(report, _runs())
    path, warnings = plot_report(report, stats, tmp_path / "depth.png")  # (path, warnings) like every figure
    assert path.stat().st_size > 10_000 and warnings == []


def test_an_evaluation_of_networks_at_chance_is_collapsed_and_never_bold(tmp_path):
    """A collapsed network is trivially calibrated (ECE near 0): its evaluation cells follow the
    evaluated runs' accuracy, so the row is marked collapsed and never bold, whatever its ECE."""
    from registry.report.spec import AutoRows, Axis, Report
    from registry.store import Store

    runs, evals = [], []
    for method, acc, ece in (("erk", 85.0, 0.010), ("uniform", 10.0, 0.002)):
        for seed in range(2):
            key = f"{method}-{seed}"
            runs.append(dict(key=key, kind="ticket", status="done", source="local", dataset="fashionmnist",
                             model="mlp", method=method, check="none", sparsity=0.9, seed=seed, variant="",
                             test_acc=acc, collapsed=False))
            evals.append(dict(key=f"e-{key}", run_key=key, eval="calibration", metric="ece",
                              value=ece + 0.001 * seed))
    trained = pd.DataFrame(runs)
    stages = pd.DataFrame([{**r, "key": f"e-{r['key']}", "kind": "eval"} for r in runs])  # the eval stages
    Store(tmp_path / "home").add_new_runs({"runs": pd.concat([trained, stages.drop(columns=["test_acc", "collapsed"])]),
                                           "results": trained[["key", "test_acc", "collapsed"]],
                                           "evals": pd.DataFrame(evals)})
    report = Report(name="r", title="r", columns=(Axis("sparsity"),), auto_rows=AutoRows(reference=()), seeds=2,
                    eval="calibration", metric="ece", lower_is_better=True, chance={"fashionmnist": 10.0})
    table = make_table(report, query=Store(tmp_path / "home").frame)
    cells = {row.label: row.cells[0] for section in table.sections for row in section.rows}
    uniform = next(c for label, c in cells.items() if "niform" in label)
    erk = next(c for label, c in cells.items() if "niform" not in label)
    assert uniform.mean == pytest.approx(0.0025) and uniform.collapsed and not uniform.bold
    assert erk.bold and not erk.collapsed


def test_the_figure_command_draws_a_scale_figure(tmp_path):
    """`tickets figure random_pruning_depth` goes through the same command as figure3 (it crashed on
    the scale figure's return value after the merge)."""
    from click.testing import CliRunner

    from registry.store import Store
    from tickets.cli.main import cli

    runs = _runs()
    runs["kind"], runs["status"], runs["source"], runs["variant"] = "ticket", "done", "local", ""
    Store(tmp_path / "home").add_new_runs({"runs": runs, "results": runs[["key", "test_acc"]]})
    out = CliRunner().invoke(cli, ["--home", str(tmp_path / "home"), "figure", "random_pruning_depth",
                                   "-o", str(tmp_path / "d.png")])
    assert out.exit_code == 0, out.output
    assert (tmp_path / "d.png").stat().st_size > 10_000


def test_scale_figures_use_the_shared_style(tmp_path):
    """Size presets, TrueType (Type 42) fonts, one legend below, no baked-in title (issue 20)."""
    import re

    from registry.report.aggregate import stats_from_frame
    from registry.report.style import SIZES, FigureOptions

    report, _ = load_report(REPORTS, "random_pruning_depth")
    stats = stats_from_frame(report, _runs())
    for preset in ("page", "column"):
        pdf, _ = plot_report(report, stats, tmp_path / f"{preset}.pdf", FigureOptions(width=SIZES[preset]))
        data = pdf.read_bytes()
        width = float(re.search(rb"/MediaBox \[ *0 0 ([\d.]+) ([\d.]+) *\]", data).group(1))
        assert width == pytest.approx(72 * SIZES[preset])
        fonts = set(re.findall(rb"/Subtype */(\w+)", data)) & {b"Type3", b"Type1", b"TrueType", b"CIDFontType2"}
        assert fonts and fonts <= {b"TrueType", b"CIDFontType2"}, fonts  # Type 42, never Type 3
    svg, _ = plot_report(report, stats, tmp_path / "f.svg")
    text = svg.read_text()  # svg.fonttype none keeps text as text
    labels = re.findall(r"<text[^>]*>([^<]*)</text>", text) or re.findall(r"<!-- ([^>]*) -->", text)
    for entry in ("Dense", "ERK", "Uniform"):
        assert labels.count(entry) == 1, (entry, labels)  # one shared legend, not one per panel
    assert report.title not in text
    assert "#0072b2" in text.lower() and "#009e73" in text.lower()  # Okabe-Ito: ERK, Uniform


@pytest.mark.parametrize("name,networks", [("random_pruning_vgg_depth", "VGG"), ("random_pruning_width_pgd", "WIDTH"),
                                           ("random_pruning_depth_ece", "DEPTH")])
def test_scale_study_reports_and_figures_of_accuracy_and_evaluations(tmp_path, name, networks):
    """The VGG depth study, the CIFAR-100 halves and the evaluation quantities: each a table (seven
    ratio rows per size, both datasets) and a figure, read from a store of finished runs."""
    import random_pruning_store as rps

    from registry.report.aggregate import stats_from_query

    at_chance = ("cifar100", 0, "uniform", 0.9)  # a network at chance: trivially robust, not a point
    store = rps.scale_store(tmp_path / "home", getattr(rps, networks), collapsed=[at_chance])
    report, folder = load_report(REPORTS, name)
    table = make_table(report, query=store.frame, folder=folder)
    cells = [c for s in table.sections for r in s.rows for c in r.cells if not c.blank and not c.missing]
    assert {c.coords["dataset"] for c in cells} == {"cifar10", "cifar100"}
    labels = {r.label for s in table.sections for r in s.rows}
    assert {"ERK+", "SNIP ratio", "GraSP ratio", "Uniform+"} <= labels
    if name != "random_pruning_width_pgd":  # drawing is slow on a busy machine: one of the three draws
        return
    path, warnings = plot_report(report, stats_from_query(report, store.frame, None), tmp_path / "f.svg")
    assert warnings == ["figure 'random_pruning_width_pgd': not drawn, collapsed to chance: "
                        "Uniform at 8 (CIFAR-100, 90%)"]
    text = path.read_text()
    for label in ("CIFAR-100 / 90%", "ERK+", "SNIP ratio", "GraSP ratio", "Dense"):
        assert f"{label}</text>" in text or f"<!-- {label} -->" in text, label
