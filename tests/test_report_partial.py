"""A partly finished study's report keeps its rows and says n/a, in every format (issue 22): the
quickstart's discovered rows used to vanish while the Rethinking report's declared rows said n/a."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from registry.report import make_table, render
from registry.report.loader import load_report
from registry.report.render import FORMATS

ROOT = Path(__file__).resolve().parents[1]


def _partial_quickstart() -> pd.DataFrame:
    """Dense, SNIP and random tickets finished; LT, GraSP and SNIP on corrupted data not yet."""
    rows = []
    for seed in (0, 1):
        rows.append(dict(method="dense", check="none", sparsity=0.0, seed=seed, test_acc=86.0 + seed))
        for method in ("snip", "random_tickets"):
            for sparsity in (0.9, 0.95, 0.98):
                rows.append(dict(method=method, check="none", sparsity=sparsity, seed=seed, test_acc=85.0 - seed))
    runs = pd.DataFrame(rows)
    runs["key"] = [f"k{i}" for i in range(len(runs))]
    for name, value in (("dataset", "fashionmnist"), ("model", "lenet300"), ("kind", "ticket"),
                        ("status", "done"), ("variant", "")):
        runs[name] = value
    runs["best_test_acc"] = runs["test_acc"]
    runs["collapsed"] = False
    return runs


def test_the_quickstart_report_keeps_rows_without_runs_as_n_a_in_every_format():
    report, _ = load_report(ROOT / "reports", "quickstart")
    table = make_table(report, runs=_partial_quickstart())
    missing = " ".join(table.missing)
    for method, check in (("lt", "none"), ("grasp", "none"), ("snip", "corrupt")):
        assert f"method={method} check={check}" in missing
    assert len(table.missing) == 9  # three rows x three sparsities
    for fmt in FORMATS.names():
        text = render(table, fmt)
        for label in ("LT", "GraSP", "SNIP (corrupted data)"):
            assert label in text, (fmt, label)
        if fmt == "csv":
            lt = [line for line in text.splitlines() if ",lt,LT," in line]
            assert len(lt) == 3 and all(line.endswith(",1") for line in lt), lt  # the missing flag
        else:
            assert "n/a" in text, fmt


def test_collapsed_cells_are_named_by_row_and_column_and_never_cut_short():
    """Table 3's caption said "Collapsed (never bold): LT [9] ... and 1 more": which cells?"""
    report, _ = load_report(ROOT / "reports", "table3")
    rows = []
    for model in ("vgg19", "resnet32"):
        for seed in range(3):
            rows.append(dict(model=model, method="dense", check="none", sparsity=0.0, seed=seed, acc=93.0))
            for method, check in (("lt", "none"), ("lrr", "shuffle_weights"), ("lrr", "half_data_seed"), ("lrr", "none")):
                for sparsity in (0.9, 0.95, 0.98):
                    dead = sparsity == 0.98 and (method == "lt" or model == "resnet32")
                    rows.append(dict(model=model, method=method, check=check, sparsity=sparsity, seed=seed,
                                     acc=10.0 if dead else 90.0 + seed, collapsed=dead))
    runs = pd.DataFrame(rows)
    runs["key"] = [f"k{i}" for i in range(len(runs))]
    runs["dataset"], runs["kind"], runs["status"], runs["variant"] = "cifar10", "ticket", "done", ""
    runs["test_acc"] = runs["best_test_acc"] = runs.pop("acc")
    runs["collapsed"] = runs["collapsed"].fillna(False).astype(bool)
    table = make_table(report, runs=runs)
    note = next(n for n in table.footnotes if n.startswith("Collapsed (never bold)"))
    assert "LT [9] at VGG19 98%, ResNet32 98%" in note
    assert "Shuffle Weights at ResNet32 98%" in note and "Half Dataset at ResNet32 98%" in note
    assert " more" not in note
    latex = render(table, "latex")
    caption = next(line for line in latex.splitlines() if line.startswith("\\caption{"))
    assert latex.count("Bold:") == 1 and "Bold:" not in caption and "best\\_test\\_acc" not in caption


def test_split_keeps_a_narrow_one_level_table_whole_and_halves_a_wide_one():
    from registry.report import AutoRows, Axis, Report
    from registry.report.render import LatexLayout

    report, _ = load_report(ROOT / "reports", "rethinking_l1")
    rows = []
    for model in ("vgg16_l1", "resnet56_l1"):
        for seed in range(2):
            rows.append(dict(model=model, method="dense", check="none", sparsity=0.0, seed=seed, spec="{}", acc=93.0))
            for variant in ("A", "B"):
                for retrain in ("finetune", "scratch_e", "scratch_b"):
                    spec = '{"method": {"name": "l1_filter", "variant": "%s", "retrain": "%s"}}' % (variant, retrain)
                    rows.append(dict(model=model, method="l1_filter", check="none", sparsity=0.5, seed=seed,
                                     spec=spec, acc=92.0 + seed))
    runs = pd.DataFrame(rows)
    runs["key"] = [f"k{i}" for i in range(len(runs))]
    runs["dataset"], runs["kind"], runs["status"], runs["variant"] = "cifar10", "ticket", "done", ""
    runs["test_acc"] = runs["best_test_acc"] = runs.pop("acc")
    runs["collapsed"] = False
    table = make_table(report, runs=runs)
    latex = render(table, "latex", layout=LatexLayout(split=True))
    assert latex.count("\\begin{tabular}") == 1  # -A and -B stay side by side: cutting them apart helps no one
    assert "pruned -A" in latex and "pruned -B" in latex
    wide = Report(name="wide", title="Wide", columns=(Axis("sparsity"),), auto_rows=AutoRows(), seeds=1)
    many = pd.DataFrame([dict(key=f"w{i}", dataset="cifar10", model="m", method="snip", check="none",
                              sparsity=s, seed=0, test_acc=90.0, best_test_acc=90.0, variant="", kind="ticket",
                              status="done", collapsed=False)
                         for i, s in enumerate((0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8))])
    assert render(make_table(wide, runs=many), "latex", layout=LatexLayout(split=True)).count("\\begin{tabular}") == 2
