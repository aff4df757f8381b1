"""Aggregation and layout: seed counts and their marks, failed runs, metrics, reference rows,
auto-discovered rows (the quickstart), spec filters, every format."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from registry.errors import UserError
from registry.report import Axis, Group, Report, Row, make_table, render
from registry.report.aggregate import stats_from_frame
from registry.report.loader import load_report

REPORTS = Path(__file__).resolve().parents[1] / "reports"

SMALL = Report(
    name="small", title="Small", filters={"dataset": "cifar10"},
    columns=(Axis("sparsity", (0.9, 0.95), fmt="{:.0%}"),),
    groups=(Group("VGG19", {"model": "vgg19"}),),
    rows=(Row("full", "{group} (Full Network)", {"method": "dense"}, reference=True),
          Row("snip", "SNIP", {"method": "snip", "check": "none"}),
          Row("rt", "Random Tickets", {"method": "random_tickets", "check": "none"})),
    seeds=3, chance={"cifar10": 10.0}, study="studies/small.py")


def run(method, sparsity, seed, acc, *, check="none", status="done", best=None, model="vgg19", **extra):
    return {"dataset": "cifar10", "model": model, "method": method, "check": check, "sparsity": sparsity,
            "seed": seed, "test_acc": acc, "best_test_acc": acc + 1 if best is None else best,
            "status": status, **extra}


def frame(*rows):
    return pd.DataFrame(list(rows))


def test_mean_sample_std_and_seed_marks():
    runs = frame(run("dense", 0.0, 0, 93.0), run("dense", 0.0, 1, 94.0), run("dense", 0.0, 2, 95.0),
                 *(run("snip", 0.9, s, a) for s, a in enumerate([90.0, 91.0, 92.0])),
                 run("snip", 0.95, 0, 88.0),
                 *(run("random_tickets", 0.9, s, a) for s, a in enumerate([90.5, 91.5])),
                 *(run("random_tickets", 0.95, s, a) for s, a in enumerate([87.0, 87.2, 87.4])),
                 run("random_tickets", 0.95, 3, 99.0, status="failed"))
    table = make_table(SMALL, runs=runs)
    full, snip, rt = table.sections[0].rows
    assert full.label == "VGG19 (Full Network)"
    assert (full.cells[0].mean_s, full.cells[0].std_s, full.cells[0].n) == ("94.00", "1.00", 3)
    assert full.cells[1].blank
    assert (snip.cells[0].mean, snip.cells[0].std, snip.cells[0].n) == (91.0, 1.0, 3)
    assert (snip.cells[1].n, snip.cells[1].std_s, snip.cells[1].bold) == (1, "", False)
    assert rt.cells[1].n == 3 and rt.cells[1].mean == pytest.approx(87.2)  # the failed run is left out
    # fewer seeds than declared are marked, one symbol per shortfall, each with a footnote
    assert snip.cells[1].mark and rt.cells[0].mark and snip.cells[1].mark != rt.cells[0].mark
    assert f"{snip.cells[1].mark} n=1 of 3 seeds" in table.footnotes
    assert f"{rt.cells[0].mark} n=2 of 3 seeds" in table.footnotes
    assert not snip.cells[0].mark
    # bold: snip 91±1 is best at 90 %, rt 91.0 lies inside; at 95 % only rt has a std
    assert [snip.cells[0].bold, rt.cells[0].bold] == [True, True]
    assert rt.cells[1].bold and not full.cells[0].bold
    latex = render(table, "latex")
    assert "88.00$^{\\dagger}$" in latex or "88.00$^{\\ddagger}$" in latex
    assert "n=1 of 3 seeds" in latex


def test_best_test_acc_metric_and_missing_cells():
    runs = frame(*(run("snip", 0.9, s, 90.0 + s, best=95.0 + s) for s in range(3)))
    table = make_table(SMALL, runs=runs, metric="best_test_acc")
    snip = table.sections[0].rows[1]
    assert snip.cells[0].mean == pytest.approx(96.0)
    assert snip.cells[1].missing and table.sections[0].rows[0].cells[0].missing
    assert len(table.missing) == 4  # full network, snip 95 %, rt 90 % and 95 %
    assert "n/a: no runs in the store" in table.footnotes
    assert "n/a" in render(table, "markdown")
    with pytest.raises(UserError, match="unknown metric 'acc'"):
        make_table(SMALL, runs=runs, metric="acc")


def test_no_matching_runs_names_the_study():
    with pytest.raises(UserError, match="no runs in the store match dataset=cifar10; run them with: "
                                        "tickets study run studies/small.py"):
        make_table(SMALL, runs=frame(run("snip", 0.9, 0, 90.0, model="vgg19") | {"dataset": "mnist"}))


def test_collapsed_flag_from_runs_and_from_chance_level():
    runs = frame(*(run("snip", 0.9, s, 10.0) for s in range(3)),
                 *(run("random_tickets", 0.9, s, 50.0 + s, collapsed=True) for s in range(3)),
                 *(run("snip", 0.95, s, 10.0 + s) for s in range(3)))
    table = make_table(SMALL, runs=runs)
    _, snip, rt = table.sections[0].rows
    assert snip.cells[0].collapsed and rt.cells[0].collapsed  # chance level / flagged by every run
    assert not snip.cells[0].bold and not rt.cells[0].bold
    assert not snip.cells[1].collapsed and snip.cells[1].bold


def test_spec_fields_filter_through_the_spec_json():
    report = Report(name="r", title="r", filters={"spec.ratio": "smart"},
                    columns=(Axis("sparsity", (0.9,)),), rows=(Row("rt", "RT", {"method": "random_tickets"}),),
                    seeds=1)
    runs = frame(run("random_tickets", 0.9, 0, 80.0, spec=json.dumps({"ratio": "smart"})),
                 run("random_tickets", 0.9, 1, 20.0, spec=json.dumps({"ratio": "ascend"})))
    assert make_table(report, runs=runs).sections[0].rows[0].cells[0].mean == 80.0


def test_quickstart_rows_follow_what_is_in_the_store():
    report, folder = load_report(REPORTS, "quickstart")
    runs = []
    for seed in (0, 1):
        runs.append(run("dense", 0.0, seed, 90.0 + seed, model="lenet5") | {"dataset": "fashionmnist"})
        for method in ("random_tickets", "snip", "grasp", "lt"):
            for sparsity in (0.9, 0.95, 0.98):
                runs.append(run(method, sparsity, seed, 85.0 + seed, model="lenet5") | {"dataset": "fashionmnist"})
        for sparsity in (0.9, 0.95, 0.98):
            runs.append(run("snip", sparsity, seed, 84.0 + seed, check="corrupt", model="lenet5")
                        | {"dataset": "fashionmnist"})
    table = make_table(report, runs=pd.DataFrame(runs), folder=folder)
    [section] = table.sections
    assert [r.label for r in section.rows] == [
        "LeNet5 (Full Network)", "LT", "SNIP", "SNIP (corrupted data)", "GraSP", "Random Tickets"]
    assert section.rows[0].reference and [c.blank for c in section.rows[0].cells] == [False, True, True]
    assert not table.missing and not any(c.mark for _, _, c in table.cells())
    assert [h.label for h in table.header[0]] == ["90%", "95%", "98%"]
    for fmt in ("latex", "markdown", "html", "csv", "text"):
        assert "SNIP (corrupted data)" in render(table, fmt)


def test_every_format_renders_bold_its_own_way():
    runs = frame(*(run("snip", 0.9, s, 90.0 + s) for s in range(3)),
                 *(run("random_tickets", 0.9, s, 80.0 + s) for s in range(3)))
    table = make_table(SMALL, runs=runs)
    assert "\\textbf{91.00$\\pm$1.00}" in render(table, "latex")
    assert "**91.00±1.00**" in render(table, "markdown")
    assert "<b>91.00±1.00</b>" in render(table, "html")
    assert "*91.00±1.00*" in render(table, "text")
    lines = render(table, "csv").splitlines()
    # the same leading columns in every report: method, check and the metric named on every line
    assert lines[0] == ("report,section,row_key,row,dataset,model,method,check,sparsity,variant,metric,interval,"
                        "mean,std,n,expected_seeds,bold,collapsed,missing")
    assert "small,VGG19,snip,SNIP,cifar10,vgg19,snip,none,0.9,,test_acc,std,91.0,1.0,3,3,1,0,0" in lines
    with pytest.raises(UserError, match="unknown format 'pdf'; known: latex, markdown, html, csv, text"):
        render(table, "pdf")


def test_stats_sql_runs_on_a_plain_frame():
    stats = stats_from_frame(SMALL, frame(run("snip", 0.9, 0, 90.0), run("snip", 0.9, 1, 92.0)))
    row = stats.iloc[0]
    assert (row["n"], row["mean"], row["lo"], row["hi"]) == (2, 91.0, 90.0, 92.0)


def test_a_row_that_names_another_columns_method_has_no_cell_there_not_a_missing_one():
    """Method columns, and a row only one method has (soft filter pruning's soft-pruned result): the
    other method's cell is "-", never n/a, and is not named as missing."""
    report = Report(name="by_method", title="By method", filters={"dataset": "cifar10"},
                    columns=(Axis("method", ("weight_level", "sfp")),),
                    rows=(Row("soft", "Soft", {"method": "sfp", "spec.method.retrain": "soft"}),
                          Row("scratch", "Scratch", {"spec.method.retrain": "scratch_e"})),
                    seeds=1, chance={"cifar10": 10.0})
    runs = frame(run("sfp", 0.5, 0, 80.0, spec=json.dumps({"method": {"retrain": "soft"}})),
                 run("sfp", 0.5, 0, 79.0, spec=json.dumps({"method": {"retrain": "scratch_e"}})),
                 run("weight_level", 0.8, 0, 78.0, spec=json.dumps({"method": {"retrain": "scratch_e"}})))
    table = make_table(report, runs=runs)
    soft, scratch = table.sections[0].rows
    assert soft.cells[0].blank and not soft.cells[0].missing and soft.cells[1].mean == 80.0
    assert [c.mean for c in scratch.cells] == [78.0, 79.0]
    assert table.missing == []
    assert "n/a" not in render(table, "markdown")
