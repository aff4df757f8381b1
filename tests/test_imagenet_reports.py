"""The ImageNet reports (reports/rethinking_imagenet_*.py, random_pruning_imagenet.py) and their paper
files: every declaration loads, renders the published numbers from runs shaped like an import of
them, and `--compare paper` marks the values not confirmed against a copy of their source."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest

from registry.errors import UserError
from registry.report import make_table, render
from registry.report.loader import load_report
from registry.report.paper import load_paper

REPORTS = Path(__file__).resolve().parents[1] / "reports"
RETHINKING = ("rethinking_imagenet_l1", "rethinking_imagenet_thinet", "rethinking_imagenet_regression",
              "rethinking_imagenet_sss", "rethinking_imagenet_slimming", "rethinking_imagenet_weight")


def paper_lines(name):
    with open(REPORTS / "paper" / f"{name}.csv", newline="") as fh:
        return [line for line in csv.DictReader(fh) if not line["row"].startswith("#")]


def imported_runs(name) -> pd.DataFrame:
    """One run per published cell, with the published value (what `tickets store import` would give)."""
    report, _ = load_report(REPORTS, name)
    where = {row.key: row.where for row in report.rows}
    runs = []
    for i, line in enumerate(paper_lines(name)):
        coords = {k: v for k, v in line.items() if k not in ("row", "mean", "std", "confirmed", "source") and v}
        spec = {"method": {k.split(".")[-1]: v for k, v in coords.items() if k.startswith("spec.method.")}}
        flat = {k: v for k, v in where[line["row"]].items() if not k.startswith("spec.")}
        spec["method"].update({k.split(".")[-1]: v for k, v in where[line["row"]].items()
                               if k.startswith("spec.method.")})
        runs.append({"key": f"{name}-{i}", "kind": "ticket", "status": "imported", "source": "imported",
                     "dataset": line["dataset"], "model": line["model"], "check": "none", "seed": 0,
                     "sparsity": float(coords.get("sparsity", 0.0)), "test_acc": float(line["mean"]),
                     "best_test_acc": float(line["mean"]), "spec": json.dumps(spec), **flat})
    return pd.DataFrame(runs)


@pytest.mark.parametrize("name", RETHINKING)
def test_report_renders_the_published_numbers_with_unconfirmed_marks(name):
    report, folder = load_report(REPORTS, name)
    table = make_table(report, runs=imported_runs(name), compare="paper", folder=folder)
    markdown = render(table, "markdown")
    values = load_paper(folder / report.paper)
    for value in values:
        assert f"{value.mean:.2f}" in markdown
    shown = {c.paper_mean_s for s in table.sections for r in s.rows for c in r.cells if c.paper is not None}
    unconfirmed = {f"{v.mean:.2f}?" for v in values if not v.confirmed}
    assert unconfirmed <= shown
    assert ("not confirmed against a copy of its source" in markdown) == bool(unconfirmed)


def test_paper_files_say_where_every_value_comes_from():
    for name in RETHINKING:
        values = load_paper(REPORTS / "paper" / f"{name}.csv")
        assert values and all(v.source for v in values)
        assert all(v.confirmed == v.source.startswith("released README") for v in values), name


def test_random_pruning_imagenet_report_loads_without_a_paper_file():
    report, _ = load_report(REPORTS, "random_pruning_imagenet")
    assert report.paper is None and {r.key for r in report.rows} == {"dense", "erk", "erk_plus", "uniform"}


def test_paper_loader_comments_and_bad_confirmed(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("row,dataset,mean,std,confirmed,source\n# a comment,,,,,\nfull,imagenet,70.1,,no,recalled\n"
                    "full,cifar10,93.0,0.1,,\n")
    first, second = load_paper(path)
    assert (first.coords, first.confirmed, first.source) == ({"dataset": "imagenet"}, False, "recalled")
    assert second.confirmed and second.std == 0.1
    path.write_text("row,dataset,mean,std,confirmed\nfull,imagenet,70.1,,maybe\n")
    with pytest.raises(UserError, match="confirmed must be yes or no"):
        load_paper(path)
    path.write_text("row,dataset,mean,std,confirmed,source\nfull,imagenet,70.1,,no,one, two\n")
    with pytest.raises(UserError, match="more fields than the header"):
        load_paper(path)
