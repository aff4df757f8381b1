"""Legends of the any-study figures (issue 22, item 9): the reports' labels (L1-norm, Fine-tuned,
Scratch-E/B), options every series shares left out, colour by method, and the legend inside the page
and no taller than the plot. Checked on the drawn figure itself (the Figure the file is saved from)."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

import structured_store
from registry.report import figures
from tickets.cli.main import cli


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("structured")
    structured_store.structured_store(home)
    return home


@pytest.fixture
def drawn(monkeypatch):
    """Each saved figure's legend texts, its extent against the figure's, and its line colours."""
    seen = []
    save = figures._save

    def capture(fig, path):
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        legend = fig.legends[0]
        box, page = legend.get_window_extent(renderer), fig.bbox
        plots = [ax.get_window_extent(renderer) for ax in fig.axes if ax.get_visible()]
        from matplotlib.colors import to_hex

        colours = {text.get_text(): to_hex(handle.get_color() if hasattr(handle, "get_color") else
                                           handle.lines[0].get_color())
                   for text, handle in zip(legend.get_texts(), legend.legend_handles)}
        seen.append({"texts": [t.get_text() for t in legend.get_texts()], "colours": colours,
                     "inside": box.x0 >= page.x0 - 1 and box.x1 <= page.x1 + 1,
                     "taller": box.height > max(p.height for p in plots),
                     "ylim": [ax.get_ylim() for ax in fig.axes if ax.get_visible()]})
        return save(fig, path)

    monkeypatch.setattr(figures, "_save", capture)
    return seen


@pytest.mark.parametrize("command", [["size"], ["keep-ratios", "--sparsity", "0.5"],
                                     ["curves", "--sparsity", "0.5"]])
def test_legends_use_report_labels_without_shared_options(home, drawn, tmp_path, command):
    result = CliRunner().invoke(cli, ["--home", str(home), "figure", *command, "-o", str(tmp_path / "f.png")])
    assert result.exit_code == 0, result.output
    (legend,) = drawn
    texts = " | ".join(legend["texts"])
    for label in ("L1-norm, Fine-tuned", "L1-norm, Scratch-E", "L1-norm, Scratch-B", "Uniform scaling, Scratch-B"):
        assert label in texts, texts
    for raw in ("l1_filter", "retrain=", "epochs=2", "milestones=1", "channel_scale"):
        assert raw not in texts, texts
    assert legend["inside"] and not legend["taller"]
    # one colour per method: the three pipelines of L1-norm share it, Uniform scaling has another
    l1 = {c for t, c in legend["colours"].items() if t.startswith("L1-norm")}
    uniform = {c for t, c in legend["colours"].items() if t.startswith("Uniform scaling")}
    assert len(l1) == 1 and len(uniform) == 1 and l1 != uniform


def test_a_long_label_wraps_inside_the_page():
    from registry.report.style import FigureOptions, SIZES

    options = FigureOptions(width=SIZES["column"])
    label = "Some method (corrupted data) [" + " ".join(f"option{i}=value{i}" for i in range(12)) + "]"
    wrapped = figures._fit_label(label, options)
    longest = max(len(line) for line in wrapped.splitlines())
    assert "\n" in wrapped and longest * 0.55 * options.font_size / 72 <= options.width


def test_random_tickets_and_lr_rewinding_get_clearly_different_colours():
    from registry.report.style import MethodStyles
    from tickets.labels import method_order

    styles = MethodStyles(method_order(), [(m, "") for m in method_order()])

    def rgb(name):
        colour = styles(name)["color"]
        return [int(colour[i:i + 2], 16) for i in (1, 3, 5)]

    distance = sum((a - b) ** 2 for a, b in zip(rgb("random_tickets"), rgb("lrr"))) ** 0.5
    assert distance > 90, (styles("random_tickets"), styles("lrr"))


def test_figure_accuracy_leaves_collapsed_points_out_and_prints_check_labels(tmp_path, drawn):
    import pandas as pd

    from tickets.labels import method_order, series_label

    rows = []
    for check in ("none", "half_data_seed"):
        for sparsity, mean, collapsed in ((0.5, 92.0, False), (0.9, 90.0, False), (0.999, 10.0, True)):
            rows.append(dict(dataset="cifar10", model="vgg19", method="lrr", check=check, variant="",
                             sparsity=sparsity, n=3, mean=mean, std=0.2, collapsed=collapsed))
    stats = pd.DataFrame(rows)
    fig_path, warnings = figures.plot_accuracy(stats, tmp_path / "acc.png", label=series_label,
                                               order=method_order())
    assert fig_path.exists()
    (legend,) = drawn
    assert "LR rewinding (seed code's half data)" in legend["texts"]
    assert not any("half_data_seed" in t for t in legend["texts"])
    assert any("left out 2 collapsed points" in w for w in warnings)
    assert all(low > 50 for low, _ in legend["ylim"])  # the axis is not squashed down to chance


def test_figure3_at_column_width_keeps_one_network_per_column_and_its_y_label_whole(tmp_path, monkeypatch):
    import report_store

    home = tmp_path / "sanity"
    report_store.build(home)
    seen = {}
    save = figures._save

    def capture(fig, path):
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        axes = [ax for ax in fig.axes if ax.get_visible()]
        seen["grid"] = [(round(ax.get_position().y0, 3), round(ax.get_position().x0, 3), ax.get_title())
                        for ax in axes]
        label = fig.get_supylabel()
        seen["ylabel"] = label
        box = fig._supylabel.get_window_extent(renderer)
        seen["inside"] = box.y0 >= fig.bbox.y0 - 1 and box.y1 <= fig.bbox.y1 + 1 and box.x0 >= fig.bbox.x0 - 1
        return save(fig, path)

    monkeypatch.setattr(figures, "_save", capture)
    result = CliRunner().invoke(cli, ["--home", str(home), "figure", "figure3", "--size", "column",
                                      "-o", str(tmp_path / "f3.png")])
    assert result.exit_code == 0, result.output
    rows: dict = {}
    columns: dict = {}
    for y, x, title in seen["grid"]:
        network, method = title.split(" / ")
        rows.setdefault(y, set()).add(method)
        columns.setdefault(x, set()).add(network)
    assert all(len(m) == 1 for m in rows.values()), rows  # a row: one method, each network once
    assert all(len(n) == 1 for n in columns.values()), columns  # a column: one network
    assert seen["ylabel"] == "best test accuracy (%)" and seen["inside"]


def test_reliability_diagram_has_a_short_title_an_explained_shading_and_a_pdf(tmp_path, monkeypatch):
    from tickets.evals.figures import reliability_diagram
    from tickets.evals.run import _title

    seen = {}
    save = figures._save

    def capture(fig, path):
        top = fig.axes[0]
        seen["title"] = top.get_title()
        seen["legend"] = [t.get_text() for t in top.get_legend().get_texts()]
        return save(fig, path)

    monkeypatch.setattr(figures, "_save", capture)
    bins = [{"lo": i / 10, "hi": (i + 1) / 10, "count": 10 * (i + 1), "accuracy": i / 10 + 0.02,
             "confidence": i / 10 + 0.05} for i in range(10)]
    title = _title({"model": "vgg19", "dataset": "cifar10"},
                   {"columns": {"method": "snip", "check": "none", "sparsity": 0.9, "variant": "epochs=2 lr=0.05"}})
    assert title == "VGG19 on CIFAR-10, SNIP 90%"
    for suffix in ("png", "pdf"):
        path = reliability_diagram(bins, tmp_path / f"reliability.{suffix}", title=title, ece=0.031)
        assert path.stat().st_size > 1000
    assert (tmp_path / "reliability.pdf").read_bytes().startswith(b"%PDF")
    assert seen["title"] == "VGG19 on CIFAR-10, SNIP 90%, ECE 3.10%" and "\n" not in seen["title"]
    assert "gap: |accuracy − confidence|" in seen["legend"]


def test_a_long_reliability_title_breaks_after_the_network_and_stays_inside_the_figure(tmp_path, monkeypatch):
    from tickets.evals.figures import reliability_diagram

    seen = {}
    save = figures._save

    def capture(fig, path):
        title = fig.axes[0].title
        seen["text"] = title.get_text()
        seen["inside"] = fig.bbox.width >= title.get_window_extent(fig.canvas.get_renderer()).width
        return save(fig, path)

    monkeypatch.setattr(figures, "_save", capture)
    bins = [{"lo": 0.0, "hi": 0.5, "count": 5, "accuracy": 0.3, "confidence": 0.25},
            {"lo": 0.5, "hi": 1.0, "count": 9, "accuracy": 0.8, "confidence": 0.75}]
    reliability_diagram(bins, tmp_path / "r.png", title="LeNet-300-100 on Fashion-MNIST, Random Tickets 98%", ece=0.03)
    assert seen["text"] == "LeNet-300-100 on Fashion-MNIST,\nRandom Tickets 98%, ECE 3.00%" and seen["inside"]


def test_keep_ratio_legend_says_a_shared_sparsity_and_seed_count_once(home, drawn, tmp_path):
    result = CliRunner().invoke(cli, ["--home", str(home), "figure", "keep-ratios", "--sparsity", "0.5",
                                      "-o", str(tmp_path / "k.png")])
    assert result.exit_code == 0, result.output
    (legend,) = drawn
    assert not any("50%" in t or "seeds" in t for t in legend["texts"]), legend["texts"]
