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
