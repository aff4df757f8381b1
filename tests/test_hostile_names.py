"""Stored names are data wherever they are written: a Markdown report shows them as text (no raw
HTML, no markup of their own), a CSV cannot run them as spreadsheet formulas, and a terminal table
does not receive their control bytes (registry.textsafe)."""
from __future__ import annotations

import csv
import io

import pandas as pd
import pytest
from click.testing import CliRunner

from registry import api
from registry.report import Axis, Report, make_table, render
from registry.report.spec import AutoRows
from registry.store import Store
from registry.textsafe import csv_cell, markdown_text, terminal_text
from tickets.cli.main import cli

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
FORMULA = "=cmd|' /C calc'!A0"
BELL = "evil\x1b]0;pwned\x07\x1b[2Jname"


def _report_of(methods):
    report = Report(name="hostile", title="Hostile <b>names</b> & co", columns=(Axis("sparsity", (0.9,), fmt="{:.0%}"),),
                    auto_rows=AutoRows(reference=()), seeds=1, chance={"cifar10": 10.0})
    runs = pd.DataFrame([{"dataset": "cifar10", "model": "m", "method": name, "check": "none", "sparsity": 0.9,
                          "seed": 0, "test_acc": 50.0 + i, "best_test_acc": 51.0 + i, "status": "done"}
                         for i, name in enumerate(methods)])
    return make_table(report, runs=runs)


def test_markdown_report_escapes_html_and_markdown_in_stored_names():
    table = _report_of([SCRIPT, IMG, "*bold* [link](http://x) `code` a|b"])
    text = render(table, "markdown")
    assert "<script" not in text and "<img" not in text and "<b>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "&lt;img src=x onerror=alert(1)&gt;" in text
    assert "Hostile &lt;b&gt;names&lt;/b&gt; &amp; co" in text
    assert "\\*bold\\* \\[link\\](http://x) \\`code\\` a\\|b" in text
    for line in text.splitlines():  # every table row still has its two cells
        if line.startswith("| ") and "%" not in line and "---" not in line:
            assert line.count(" | ") == 1, line


@pytest.mark.parametrize("text, literal", [
    ("# heading", "\\# heading"), ("- item", "\\- item"), ("1. one", "1\\. one"), ("a & b", "a &amp; b"),
    ("two\nlines", "two lines"), ("L1-norm", "L1-norm"),
])
def test_markdown_text_keeps_names_literal(text, literal):
    assert markdown_text(text) == literal


def test_report_csv_neutralises_formula_cells_and_keeps_numbers():
    table = _report_of([FORMULA, "+HYPERLINK(\"http://x\")", "@SUM(A1)", "-x", "plain"])
    rows = list(csv.DictReader(io.StringIO(render(table, "csv"))))
    assert sorted(r["row"] for r in rows) == sorted(["'" + FORMULA, "'+HYPERLINK(\"http://x\")", "'@SUM(A1)",
                                                      "'-x", "plain"])
    assert {r["mean"] for r in rows} == {"50.0", "51.0", "52.0", "53.0", "54.0"}


@pytest.mark.parametrize("value, cell", [
    ("=1+1", "'=1+1"), ("+1", "+1"), ("-0.25", "-0.25"), ("-3", "-3"), ("\tx", "'\tx"), ("\rx", "'\rx"),
    ("@x", "'@x"), ("ok", "ok"), (-5, -5), (2.5, 2.5),
])
def test_csv_cell_follows_the_owasp_rule_but_leaves_numbers(value, cell):
    assert csv_cell(value) == cell


def _seed(home):
    Store(home).add_new_runs({
        "runs": pd.DataFrame([{"key": "a" * 16, "kind": "ticket", "status": "done", "dataset": "cifar10",
                               "model": "m", "method": BELL, "check": FORMULA, "sparsity": 0.5, "seed": 0,
                               "spec": "{}"}]),
        "results": pd.DataFrame([{"key": "a" * 16, "test_acc": 50.0}]),
    })


def test_runs_ls_and_show_strip_control_bytes_and_csv_exports_neutralise(tmp_path):
    home = tmp_path / "home"
    _seed(home)
    runner = CliRunner()
    listed = runner.invoke(cli, ["--home", str(home), "runs", "ls"])
    assert listed.exit_code == 0, listed.output
    assert "\x1b" not in listed.output and "\x07" not in listed.output and "evil]0;pwned[2Jname" in listed.output
    shown = runner.invoke(cli, ["--home", str(home), "runs", "show", "aaaa"])
    assert "\x1b" not in shown.output and "\x07" not in shown.output
    as_csv = runner.invoke(cli, ["--home", str(home), "sql", "--format", "csv", "SELECT \"check\" FROM runs"])
    assert as_csv.output.splitlines()[1] == "'=cmd|' /C calc'!A0"
    # the exchange file neutralises too, and reads back to the stored name
    export = tmp_path / "x.csv"
    api.export(export, home=home)
    assert "'=cmd" in export.read_text()
    other = tmp_path / "other"
    api.import_file(export, home=other)
    assert list(api.results(home=other)["check"]) == [FORMULA]


def test_terminal_text_removes_c0_and_c1_controls_only():
    assert terminal_text("a\x1b[31mb\x07c\x9bd\te\nf") == "a[31mbcd\te\nf"
