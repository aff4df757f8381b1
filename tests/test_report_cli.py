"""`tickets report` and `tickets figure` against a real store: formats, files, --compare, and the
one-line errors (exit 2) for unknown reports, formats, missing runs and unwritable paths."""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from registry.store import Store
from tickets.cli.main import cli

from test_report_paper import imported_runs


@pytest.fixture
def home(tmp_path):
    home = tmp_path / "home"
    runs = imported_runs("table1")
    runs["key"] = [f"k{i:04d}" for i in range(len(runs))]
    layers = pd.DataFrame([{"key": "k0010", "idx": i, "layer": f"features.{i}.weight", "weights": 100,
                            "kept": 100 - 20 * i, "keep_ratio": (100 - 20 * i) / 100} for i in range(4)])
    Store(home).add_new_runs({"runs": runs, "results": runs[["key", "test_acc", "best_test_acc"]],
                              "layers": layers})
    return home


def invoke(home, *args):
    result = CliRunner().invoke(cli, ["--home", str(home), *args])
    return result.exit_code, result.output


def test_report_latex_to_stdout_and_file(home, tmp_path):
    code, out = invoke(home, "report", "table1", "--format", "latex")
    assert code == 0, out
    assert "\\textbf{93.77$\\pm$0.10}" in out and "\\ticketslabel{VGG19 (Full Network)} & 93.70 & - & -" in out
    target = tmp_path / "t1.tex"
    code, out = invoke(home, "report", "table1", "--format", "latex", "-o", str(target))
    assert code == 0 and target.read_text().startswith("% tickets report table1")


def test_report_text_compare_and_interval(home):
    code, out = invoke(home, "report", "table1", "--compare", "paper", "--interval", "sem")
    assert code == 0, out
    assert "paper 93.77±0.10 Δ+0.00" in out and "standard error" in out


def test_report_lists_and_rejects(home, tmp_path):
    code, out = invoke(home, "report")
    assert code == 0 and "table1" in out and "quickstart" in out
    code, out = invoke(home, "report", "table9")
    assert code == 2 and "unknown report 'table9'" in out and "table1, table2" in out
    code, out = invoke(home, "report", "table1", "--format", "docx")
    assert code == 2 and "known: latex, markdown, html, csv, text" in out
    code, out = invoke(home, "report", "table1", "--interval", "ci")
    assert code == 2 and "unknown interval rule 'ci'" in out
    code, out = invoke(home, "report", "table1", "-o", str(tmp_path / "nope" / "t.tex"))
    assert code == 2 and "cannot write" in out and "does not exist" in out
    code, out = invoke(home, "report", "table2")
    assert code == 2 and out.count("\n") == 1
    assert "no runs in the store" in out and "tickets study run studies/table2_tinyimagenet.py" in out


def test_missing_cells_are_named_with_the_command_that_runs_them(home):
    code, out = invoke(home, "report", "table4", "--format", "csv")
    assert code == 0  # the full-network rows are there; the rest are marked n/a
    assert "cells have no runs (model=vgg19 dataset=cifar10 sparsity=0.9 method=obd" in out and "and 33 more" in out
    assert "tickets study run studies/table4_hybrid.py" in out
    code, out = invoke(home, "report", "table4", "--strict")
    assert code == 2 and "36 cells have no runs" in out


def test_figures(home, tmp_path):
    runs = imported_runs("table1")
    extra = runs[runs["method"].isin(["lt", "snip"]) & (runs["dataset"] == "cifar10")].copy()
    extra["check"] = "corrupt"
    extra["test_acc"] -= 1.0
    extra["best_test_acc"] -= 1.0
    extra["key"] = [f"c{i:04d}" for i in range(len(extra))]
    Store(home).add_new_runs({"runs": extra, "results": extra[["key", "test_acc", "best_test_acc"]]})
    out = tmp_path / "fig3.png"
    code, text = invoke(home, "figure", "figure3", "-o", str(out))
    assert code == 0, text
    assert out.stat().st_size > 1000
    assert out.read_bytes()[:4] == b"\x89PNG"
    ratios = tmp_path / "ratios.pdf"
    code, text = invoke(home, "figure", "keep-ratios", "--key", "k001", "-o", str(ratios))
    assert code == 0, text
    assert ratios.read_bytes()[:4] == b"%PDF"


def test_figure_errors(home, tmp_path):
    code, out = invoke(home, "figure", "keep-ratios", "--method", "grasp", "-o", str(tmp_path / "r.png"))
    assert code == 2 and "no per-layer keep ratios" in out
    code, out = invoke(home, "figure", "keep-ratios", "--key", "k0010", "-o", str(tmp_path / "r.jpg"))
    assert code == 2 and ".png, .pdf, .svg" in out
    code, out = invoke(home, "figure", "keep-ratios", "-o", str(tmp_path / "r.png"))
    assert code == 2 and "--key" in out
    code, out = invoke(home, "figure", "figure9", "-o", str(tmp_path / "r.png"))
    assert code == 2 and "unknown figure 'figure9'" in out and "figure3" in out


def test_store_import_of_paper_numbers_renders_tables_1_to_4_with_the_papers_bolding(tmp_path):
    """The issue's acceptance path: `tickets store import` (three seeds per cell plus single values),
    then `tickets report tableN --format latex` bolds exactly what the rule gives on the paper's numbers."""
    from registry.report import make_table
    from registry.report.loader import load_report
    from test_report_paper import REPORTS, TABLES, expected_bold, rendered_cells

    columns = ["dataset", "model", "method", "check", "sparsity", "seed", "test_acc", "best_test_acc"]
    runs = pd.concat([imported_runs(name)[columns] for name in TABLES]).drop_duplicates()
    exchange = tmp_path / "paper.csv"
    runs.to_csv(exchange, index=False)
    home = tmp_path / "imported"
    code, out = invoke(home, "store", "import", str(exchange))
    assert code == 0, out
    for name in TABLES:
        code, latex = invoke(home, "report", name, "--format", "latex")
        assert code == 0, latex
        report, folder = load_report(REPORTS, name)
        table = make_table(report, query=Store(home).frame, folder=folder)
        cells = rendered_cells(name, table, latex)
        assert {k for k, text in cells.items() if text.startswith("\\textbf{")} == expected_bold(name)


def test_keep_ratio_figure_says_why_it_has_nothing_to_draw(home, tmp_path):
    code, out = invoke(home, "figure", "keep-ratios", "--method", "synflow", "-o", str(tmp_path / "a.png"))
    assert code == 2 and "no runs match those keys and filters" in out
    code, out = invoke(home, "figure", "keep-ratios", "--key", "k0011", "-o", str(tmp_path / "b.png"))
    assert code == 2 and "1 run matches, but it carries no per-layer keep ratios" in out
    code, out = invoke(home, "figure", "keep-ratios", "--key", "k0010", "--log", "-o", str(tmp_path / "c.png"))
    assert code == 0 and (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
