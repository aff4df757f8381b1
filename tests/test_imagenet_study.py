"""A small ImageNet-layout tree in every val layout trained end to end through `tickets study run`,
`tickets report` and `tickets sql` on the CPU (issue 18): the streaming path under the real
registry workers, with a data check (SNIP's pruning step on random labels + pixels)."""
from __future__ import annotations

import csv
import json
import os
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from jpeg_trees import LAYOUTS, write_tree
from registry.store import Store
from tickets.cli.main import cli

TESTS = Path(__file__).parent
PLUGIN = """
from tickets.data import register_imagenet_like
for name in {names!r}:
    register_imagenet_like(name, size=32, num_classes=4, replace=True)
"""
STUDY = """
from tickets.study import Grid, Study
study = Study("imagenet_layouts",
              Grid(datasets={names!r}, models=["cnn_small"], methods=["dense"], sparsities=[0.0], seeds=[0],
                   train={{"epochs": 1, "batch_size": 8, "eval_batch_size": 16}}),
              Grid(datasets={first!r}, models=["cnn_small"], methods=["snip"], sparsities=[0.5], seeds=[0],
                   checks=["corrupt"], train={{"epochs": 1, "batch_size": 8, "eval_batch_size": 16}}),
              plugins=["imagenet_layouts_plugin.py"])
"""
REPORT = ("from registry.report.spec import Axis, AutoRows, Report\n"
          "REPORT = Report(name='layouts', title='layouts', columns=(Axis('dataset'),), "
          "auto_rows=AutoRows(reference=()), seeds=1, reference_axis='seed')\n")


@pytest.mark.slow
def test_every_val_layout_trains_through_study_run_report_and_sql(tmp_path, monkeypatch):
    tag = uuid.uuid4().hex[:6]
    names = [f"inet_{layout}_{tag}" for layout in LAYOUTS]
    data = tmp_path / "data"
    for name, layout in zip(names, LAYOUTS):
        write_tree(data / name, layout, per_class=8, val_per_class=4)
    (tmp_path / "imagenet_layouts_plugin.py").write_text(PLUGIN.format(names=names))
    study = tmp_path / "imagenet_layouts.py"
    study.write_text(STUDY.format(names=names, first=names[:1]))
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "layouts.py").write_text(REPORT)
    monkeypatch.setenv("TICKETS_DATA", str(data))
    monkeypatch.setenv("TICKETS_LOADER_WORKERS", "0")
    monkeypatch.setenv("TICKETS_REPORTS", str(tmp_path / "reports"))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))
    home = tmp_path / "home"

    out = CliRunner().invoke(cli, ["--home", str(home), "study", "run", str(study)])
    assert out.exit_code == 0, out.output
    rows = Store(home).frame("SELECT dataset, method, status, test_acc FROM run_results ORDER BY dataset, method")
    assert sorted(set(rows["dataset"])) == sorted(names) and set(rows["status"]) == {"done"}
    assert list(rows["method"]).count("snip") == 1
    # 16 test images per layout, the same labels in every layout: accuracy is a multiple of 6.25 %
    assert all(float(a) * 16 / 100 == round(float(a) * 16 / 100) for a in rows["test_acc"])

    out = CliRunner().invoke(cli, ["--home", str(home), "sql", "--format", "json",
                                   "SELECT r.dataset, count(*) AS epochs FROM epochs e JOIN runs r USING (key) "
                                   "GROUP BY r.dataset ORDER BY r.dataset"])
    assert out.exit_code == 0, out.output
    counted = {r["dataset"]: r["epochs"] for r in json.loads(out.output)}
    assert set(counted) == set(names) and all(n >= 1 for n in counted.values())

    out = CliRunner().invoke(cli, ["--home", str(home), "report", "layouts", "--format", "csv"])
    assert out.exit_code == 0, out.output
    lines = [line for line in out.output.splitlines() if line.startswith(("report,", "layouts,"))]
    filled = {r["dataset"] for r in csv.DictReader(lines) if r["n"] not in ("", "0")}
    assert filled == set(names)
