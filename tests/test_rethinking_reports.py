"""The Rethinking reports added for issue 20 render the published numbers they compare with, and a
paper value that could not be confirmed is marked in the CSV (`confirmed=no`) and in the table."""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pandas as pd
import pytest

from registry.errors import UserError
from registry.report import make_table, render
from registry.report.loader import load_report
from registry.report.paper import UNCONFIRMED_MARK, load_paper

REPORTS = Path(__file__).resolve().parents[1] / "reports"


def _lines(name):
    with open(REPORTS / "paper" / f"{name}.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def _imported(report, name) -> pd.DataFrame:
    """Five seeds per published cell with exactly its mean and sample std (as a store import)."""
    def spec_of(where):
        spec = {}
        for field, value in where.items():
            if field.startswith("spec.") and value is not None:
                *path, leaf = field[len("spec."):].split(".")
                node = spec
                for part in path:
                    node = node.setdefault(part, {})
                node[leaf] = value
        return json.dumps(spec)

    where = {row.key: {k: v for k, v in row.where.items() if not k.startswith("spec.")} for row in report.rows}
    specs = {row.key: spec_of(row.where) for row in report.rows}
    runs = []
    for line in _lines(name):
        m, s = float(line["mean"]), float(line["std"] or 0)
        x = s * math.sqrt(4 / 2)  # m - x, m, m, m, m + x has sample std x / sqrt(2)
        for seed, value in enumerate((m - x, m, m, m, m + x)):
            runs.append({"key": f"{name}-{len(runs)}", "kind": "ticket", "status": "imported",
                         "source": "imported", "dataset": line["dataset"], "model": line["model"],
                         "sparsity": float(line["sparsity"]) if line["sparsity"] else 0.0, "seed": seed,
                         "test_acc": value, "best_test_acc": value, "check": "none", "spec": specs[line["row"]],
                         **where[line["row"]]})
    return pd.DataFrame(runs)


def test_confirmed_column_is_read_and_checked(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("row,model,mean,std,confirmed\nfull,a,1.0,,\nfull,b,2.0,0.1,no\nfull,c,3.0,,yes\n")
    assert [(v.coords, v.confirmed) for v in load_paper(path)] == [
        ({"model": "a"}, True), ({"model": "b"}, False), ({"model": "c"}, True)]
    path.write_text("row,model,mean,std,confirmed\nfull,a,1.0,,maybe\n")
    with pytest.raises(UserError, match="confirmed must be yes or no, got 'maybe'"):
        load_paper(path)


@pytest.mark.parametrize("name", ["rethinking_slimming", "rethinking_weight_level"])
def test_reports_show_the_published_numbers_and_mark_unconfirmed_ones(name):
    report, folder = load_report(REPORTS, name)
    table = make_table(report, runs=_imported(report, name), compare="paper", folder=folder)
    cells = {(r.key, c.coords["dataset"], c.coords["model"], c.coords.get("sparsity")): c
             for s in table.sections for r in s.rows for c in r.cells if not c.blank}
    for line in _lines(name):
        sparsity = float(line["sparsity"]) if line["sparsity"] else None
        cell = cells[(line["row"], line["dataset"], line["model"], sparsity)]
        assert cell.mean_s == line["mean"] and cell.diff_s == "+0.00"
        assert cell.paper_mean_s == line["mean"] + (UNCONFIRMED_MARK if line["confirmed"] == "no" else "")
    markdown = render(table, "markdown")
    assert "not confirmed against a copy of its source" in markdown


@pytest.mark.parametrize("name", ["rethinking_sfp", "rethinking_lottery", "rethinking_lottery_l1",
                                  "rethinking_fashionmnist_unstructured", "rethinking_fashionmnist", "rethinking_l1"])
def test_reports_load_and_lay_out_without_runs(name):
    report, folder = load_report(REPORTS, name)
    first = {k: (v[0] if isinstance(v, (list, tuple)) else v) for k, v in report.filters.items()}
    one = pd.DataFrame([{"key": "k", "kind": "ticket", "status": "done", "method": "dense", "sparsity": 0.0,
                         "seed": 0, "check": "none", "test_acc": 50.0, "best_test_acc": 50.0, **first}])
    table = make_table(report, runs=one, folder=folder)  # one run off the layout: every cell n/a
    assert len(table.sections) == len(report.groups) and all(len(s.rows) == len(report.rows) for s in table.sections)
    assert "n/a" in render(table, "markdown")
