"""Figures for print: one style per series across panels, paper sizes, no baked-in title, one
shared legend, Type 42 fonts; Figure 3 warns about missing series; keep-ratio plots with readable,
seed-averaged series; accuracy, learning-curve and size figures for any study."""
from __future__ import annotations

import re

import pandas as pd
import pytest
from click.testing import CliRunner

import registry.report.figures as figures
from registry.errors import UserError
from registry.report.style import SIZES, MethodStyles, StyleBook, parse_size, style_at
from tickets.cli.main import cli

import report_store


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("figures") / "home"
    report_store.build(home)
    return home


@pytest.fixture
def drawn(monkeypatch):
    """The matplotlib figures saved during a test (inspected before they are closed)."""
    seen = []
    original = figures._save

    def capture(fig, path):
        seen.append(_describe(fig))
        return original(fig, path)

    monkeypatch.setattr(figures, "_save", capture)
    return seen


def _describe(fig):
    panels = []
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        styles = {}
        for handle, label in zip(*ax.get_legend_handles_labels()):
            line = handle.lines[0] if hasattr(handle, "lines") else handle
            styles[label] = (line.get_color(), line.get_marker(), line.get_linestyle())
        panels.append({"title": ax.get_title(), "styles": styles, "legend": ax.get_legend(),
                       "yscale": ax.get_yscale(), "lines": ax.get_lines(),
                       "bars": {c.get_label(): c.lines[0] for c in ax.containers}})
    legends = [[t.get_text() for t in legend.get_texts()] for legend in fig.legends]
    return {"panels": panels, "legends": legends, "title": fig._suptitle.get_text() if fig._suptitle else None,
            "size": tuple(fig.get_size_inches())}


def invoke(home, *args):
    result = CliRunner().invoke(cli, ["--home", str(home), *args])
    return result.exit_code, result.output


def test_figure3_one_style_per_series_across_panels_and_one_shared_legend(home, tmp_path, drawn):
    code, out = invoke(home, "figure", "figure3", "-o", str(tmp_path / "f3.svg"))
    assert code == 0, out
    (fig,) = drawn
    assert len(fig["panels"]) == 6 and fig["title"] is None
    assert fig["legends"] == [["original", "corrupted data", "layerwise rearrange"]]
    assert all(p["legend"] is None for p in fig["panels"])  # no per-panel legend
    styles = {}
    for panel in fig["panels"]:
        for label, style in panel["styles"].items():
            styles.setdefault(label, set()).add(style)
    assert all(len(s) == 1 for s in styles.values()), styles  # the same style in every panel
    looks = [next(iter(s)) for s in styles.values()]
    for i, a in enumerate(looks):  # colour, marker and line style all differ
        for b in looks[i + 1:]:
            assert a[0] != b[0] and a[1] != b[1] and a[2] != b[2]
    # the panel lacking "layerwise rearrange" keeps the others' colours, and the figure says so
    lacking = next(p for p in fig["panels"] if p["title"] == "VGG19 / GraSP")
    assert set(lacking["styles"]) == {"original", "corrupted data"}
    assert "panel VGG19 / GraSP: no runs for layerwise rearrange" in out
    assert "cells have no runs" in out and "tickets study run studies/figure3_sanity_initial.py" in out


def test_figure3_warns_when_a_series_is_missing_everywhere(tmp_path):
    home = tmp_path / "home"
    runs = report_store.sanity_runs()
    runs = runs[runs["check"] == "none"]
    from registry.store import Store

    Store(home).add_new_runs({"runs": runs, "results": runs[["key", "test_acc", "best_test_acc"]]})
    code, out = invoke(home, "figure", "figure3", "-o", str(tmp_path / "f.svg"))
    assert code == 0, out
    assert "figure 'figure3' draws no corrupted data, layerwise rearrange: no runs of those series" in out


def test_print_sizes_title_and_type42_fonts(home, tmp_path, drawn):
    pdf = tmp_path / "col.pdf"
    code, out = invoke(home, "figure", "figure3", "--size", "column", "-o", str(pdf))
    assert code == 0, out
    data = pdf.read_bytes()
    assert b"/Type3" not in data and b"/FontType 3" not in data
    assert b"/CIDFontType2" in data or b"/TrueType" in data  # Type 42: TrueType outlines embedded
    width = float(re.search(rb"/MediaBox \[ *0 0 ([0-9.]+)", data).group(1))
    assert 0.85 * SIZES["column"] * 72 <= width <= 1.05 * SIZES["column"] * 72
    code, out = invoke(home, "figure", "accuracy", "--model", "vgg19", "--size", "7x4", "--title", "Sanity checks",
                       "-o", str(tmp_path / "t.svg"))
    assert code == 0, out
    assert drawn[-1]["title"] == "Sanity checks" and drawn[-1]["size"] == (7.0, 4.0)
    code, out = invoke(home, "figure", "figure3", "--size", "huge", "-o", str(tmp_path / "x.pdf"))
    assert code == 2 and "bad figure size 'huge'" in out and "column, page" in out


def test_parse_size_and_styles():
    assert parse_size("column") == (3.3, None) and parse_size("page") == (6.9, None)
    assert parse_size("3.5") == (3.5, None) and parse_size("7x3") == (7.0, 3.0)
    with pytest.raises(UserError):
        parse_size("0.1")
    assert len({tuple(style_at(i).values()) for i in range(40)}) == 40
    book = StyleBook(["none", "corrupt", "rearrange"])
    assert book("rearrange") == style_at(2)  # fixed by the declared order, whatever is drawn first
    styles = MethodStyles(["dense", "snip", "lt"], [("lt", ""), ("lt", "corrupt"), ("snip", "")])
    assert styles("lt")["color"] == styles("lt", "corrupt")["color"] == style_at(2)["color"]
    assert styles("lt")["linestyle"] != styles("lt", "corrupt")["linestyle"]
    alone = MethodStyles(["snip"], [("snip", "0.9"), ("snip", "0.98")])
    # one method's series keep its colour (colour names the method); the line style tells them apart
    assert alone("snip", "0.9")["color"] == alone("snip", "0.98")["color"]
    assert alone("snip", "0.9")["linestyle"] != alone("snip", "0.98")["linestyle"]


def test_keep_ratios_readable_seed_averaged_dense_left_out_collapsed_marked(home, tmp_path, drawn):
    code, out = invoke(home, "figure", "keep-ratios", "--model", "resnet32", "--log", "-o", str(tmp_path / "k.png"))
    assert code == 0, out
    assert "left out 3 unpruned runs" in out and "collapsed" in out
    (fig,) = drawn
    legend = fig["legends"][0]
    # what every line shares (98 %, three seeds) is said once above the plot, not in each entry
    assert fig["panels"][0]["title"] == "sparsity 98%, mean of 3 seeds"
    assert legend == ["SNIP", "GraSP", "LT",
                      "collapsed layer (nothing kept), drawn at the floor"]
    panel = fig["panels"][0]
    assert panel["yscale"] == "log"
    marks = [l for l in panel["lines"] if l.get_marker() == "x"]
    assert len(marks) == 1 and list(marks[0].get_xdata()) == [4]  # SNIP's collapsed layer, at the floor
    assert marks[0].get_ydata()[0] > 0


def test_keep_ratio_legend_survives_many_series(tmp_path, drawn):
    layers = pd.DataFrame([dict(key=f"k{s}-{seed}", idx=i, layer=f"l{i}.weight", weights=10, kept=1,
                                keep_ratio=0.1 + 0.01 * s, dataset="d", model="m", method="snip", check="none",
                                sparsity=0.5 + 0.02 * s, seed=seed, variant="")
                           for s in range(15) for seed in range(2) for i in range(3)])
    path, warnings = figures.plot_keep_ratios(layers, tmp_path / "many.png")
    assert path.exists() and warnings == []
    assert len(drawn[0]["legends"][0]) == 15  # one entry per (method, sparsity); seeds averaged
    assert len(set(drawn[0]["panels"][0]["styles"].values())) == 15  # and no two look alike


def test_accuracy_curves_and_size_figures(home, tmp_path, drawn):
    code, out = invoke(home, "figure", "accuracy", "--model", "resnet32", "-o", str(tmp_path / "a.pdf"))
    assert code == 0, out
    legend = drawn[-1]["legends"][0]
    assert legend[:3] == ["SNIP", "SNIP (corrupted data)", "SNIP (layerwise rearrange)"]
    assert legend[-1] == "full network" and len(legend) == 10
    panel = drawn[-1]["panels"][0]
    assert panel["title"] == "ResNet32 on CIFAR-10"
    snip, lt = panel["styles"]["SNIP"], panel["styles"]["LT"]
    assert snip[0] != lt[0] and panel["styles"]["SNIP (corrupted data)"][0] == snip[0]
    code, out = invoke(home, "figure", "curves", "--model", "resnet32", "-o", str(tmp_path / "c.svg"))
    assert code == 0, out
    fig = drawn[-1]
    assert [p["title"] for p in fig["panels"]] == ["ResNet32 on CIFAR-10: train", "ResNet32 on CIFAR-10: test"]
    assert fig["legends"][0] == ["Full network", "SNIP, 90%", "GraSP, 90%", "LT, 90%"]
    # each curve averages three seeds over the ten epochs of the run's last phase
    full = next(l for l in fig["panels"][1]["lines"] if l.get_label() == "Full network")
    assert len(full.get_xdata()) == 10 and full.get_ydata()[-1] == pytest.approx(94.1 * (1 - 0.5 ** 10))
    code, out = invoke(home, "figure", "size", "-o", str(tmp_path / "s.svg"))
    # imported paper-shaped results carry no parameter counts: the figure says so rather than draw nothing
    assert code == 2 and "record 'params'" in out


def test_size_figure_when_the_store_records_params(tmp_path, drawn):
    home = tmp_path / "home"
    report_store.add_size_columns(report_store.build(home))
    code, out = invoke(home, "figure", "size", "--by", "flops", "--model", "vgg19", "-o", str(tmp_path / "s.svg"))
    assert code == 0, out
    panel = drawn[-1]["panels"][0]
    assert panel["title"] == "VGG19 on CIFAR-10"
    line = panel["bars"]["LT"]
    assert sorted(line.get_xdata()) == [round(70e6 * (1 - p)) + 5000 for p in (0.98, 0.95, 0.9, 0.8, 0.6)]


def test_a_variant_every_series_shares_stays_out_of_the_legend(tmp_path, drawn):
    """The quickstart's runs all carry `epochs=3 milestones=2`: it tells no series apart, so it is not
    repeated in every legend entry; two variants side by side are still named."""
    import duckdb

    home = tmp_path / "home"
    store = report_store.build(home)
    con = duckdb.connect(str(store.path))
    try:
        con.execute("UPDATE runs SET variant = 'epochs=3'")
    finally:
        con.close()
    code, out = invoke(home, "figure", "accuracy", "--model", "resnet32", "-o", str(tmp_path / "a.svg"))
    assert code == 0, out
    legend = drawn[-1]["legends"][0]
    assert legend[:2] == ["SNIP", "SNIP (corrupted data)"] and not any("epochs=3" in e for e in legend)
    con = duckdb.connect(str(store.path))
    try:
        con.execute("UPDATE runs SET variant = 'epochs=5' WHERE method = 'snip' AND \"check\" = 'none'")
    finally:
        con.close()
    code, out = invoke(home, "figure", "accuracy", "--model", "resnet32", "-o", str(tmp_path / "b.svg"))
    assert code == 0, out
    legend = drawn[-1]["legends"][0]
    assert "SNIP [epochs=5]" in legend and "SNIP (corrupted data) [epochs=3]" in legend


def test_size_metrics_are_shown_but_never_bold(tmp_path):
    home = tmp_path / "home"
    report_store.add_size_columns(report_store.build(home))
    code, out = invoke(home, "report", "figure3", "--metric", "best_test_acc", "--format", "latex")
    assert code == 0, out
    assert "\\textbf" in out  # accuracies are ranked
    code, out = invoke(home, "report", "figure3", "--metric", "params", "--format", "latex")
    assert code == 0, out
    assert "\\textbf" not in out and "No bold: a network's size is not ranked" in out
