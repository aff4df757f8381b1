"""The ablation and appendix studies and their reports fit together: every cell a study declares
lands in its report's rows (variants included), with no cell missing and none pooled."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from registry.plan import make_plan
from registry.report import make_table, render
from registry.report.loader import load_report
from registry.store import Store
from tickets.study import load_study

ROOT = Path(__file__).resolve().parents[1]


def _runs_of(study_name: str, home: Path) -> pd.DataFrame:
    """run_results rows as the study's stages would produce them, with a made-up accuracy."""
    plan = make_plan(load_study(ROOT / "studies" / f"{study_name}.py"), Store(home))
    rows = []
    for key, stage in plan.stages.items():
        c = dict(stage.columns)
        acc = 90.0 - 10 * c["sparsity"] + c["seed"] * 0.1 + len(c.get("variant") or "") * 0.01
        rows.append({"key": key, "kind": stage.kind, "status": "done", **c, "test_acc": acc, "best_test_acc": acc,
                     "spec": json.dumps(stage.spec, default=str)})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("study, report_name, rows", [
    ("ablation_ratios", "ablation_ratios", 6),      # full network + five rules
    ("appendix_imp_oneshot", "appendix_imp", 7),     # full network + 2 methods x 3 checks
    ("appendix_figure3_cifar100", "figure3_cifar100", 9),
])
def test_study_fills_its_report(study, report_name, rows, tmp_path):
    runs = _runs_of(study, tmp_path / "home")
    report, folder = load_report(ROOT / "reports", report_name)
    table = make_table(report, runs=runs, folder=folder)
    assert table.missing == [] and table.mixed == []
    for section in table.sections:
        assert len(section.rows) == rows
    markdown = render(table, "markdown")
    if report_name == "ablation_ratios":
        for label in ("Ascending (l² + l)", "Linear decay", "Smart ratios (quadratic decay)", "Cubic decay",
                      "Uniform (classifier 0.3)"):
            assert markdown.count(label) == 2  # one row per network
    assert report.study == f"studies/{study}.py" and (ROOT / report.study).exists()
