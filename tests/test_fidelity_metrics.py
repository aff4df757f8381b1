"""Which accuracy a table shows (docs/FIDELITY.md item 7): the paper tables and `--compare paper`
use the best test accuracy the seed code printed; a validation split selects the epoch honestly."""
from __future__ import annotations

import pandas as pd
import pytest
import torch

from registry.report import make_table
from registry.report.loader import load_report
from tickets.config import resolve
from tickets.data import load_dataset
from tickets.models import build_model
from tickets.train import train
from tickets.train.history import EpochRecord
from tickets.train.validation import selected_test_acc, split

pytestmark = pytest.mark.usefixtures("single_thread")


def record(epoch, test, val=None):
    return EpochRecord("retrain", epoch, 1.0, 50.0, 1.0, test, 0.1, 0.1, val_acc=val)


def test_selection_is_by_validation_not_test():
    recs = [record(1, 60.0, 50.0), record(2, 70.0, 55.0), record(3, 65.0, 58.0), record(4, 72.0, 58.0)]
    assert selected_test_acc(recs) == 65.0  # first epoch of the best validation accuracy
    assert selected_test_acc([record(1, 60.0)]) is None
    assert record(1, 60.0).to_dict().keys() == {"phase", "epoch", "train_loss", "train_acc", "test_loss",
                                                "test_acc", "lr", "seconds"}  # old lines unchanged
    assert EpochRecord.from_dict(recs[2].to_dict()) == recs[2]


def test_split_is_fixed_disjoint_and_the_size_asked_for():
    x = torch.arange(200, dtype=torch.uint8).view(200, 1, 1, 1).expand(200, 1, 2, 2).contiguous()
    y = torch.arange(200) % 10
    (xt, yt), held = split(x, y, 0.1, None)
    assert len(held.y_test) == 20 and len(yt) == 180
    seen = set(xt[:, 0, 0, 0].tolist()) | set(held.x_test[:, 0, 0, 0].tolist())
    assert len(seen) == 200
    assert torch.equal(split(x, y, 0.1, None)[1].x_test, held.x_test)


def test_training_with_a_validation_split_reports_the_selected_test_accuracy():
    data = load_dataset("synthetic")
    torch.manual_seed(0)
    model = build_model("lenet300", data.info)
    config = resolve("synthetic", {"epochs": 2, "milestones": (), "val_split": 0.25})
    history = train(model, data, config, device="cpu", seed=0)
    vals = [r.val_acc for r in history.records]
    assert all(v is not None for v in vals)
    best = vals.index(max(vals))
    assert history.val_selected_test_acc == history.records[best].test_acc
    assert history.result()["val_selected_test_acc"] == history.records[best].test_acc
    plain = train(build_model("lenet300", data.info), data,
                  resolve("synthetic", {"epochs": 1, "milestones": ()}), device="cpu", seed=0)
    assert "val_selected_test_acc" not in plain.result()


def test_val_split_is_not_part_of_existing_keys():
    from tickets.domain import DOMAIN

    cell = {"dataset": "cifar10", "model": "resnet32", "method": "lt", "sparsity": 0.9, "seed": 0}
    plain = [s.key for s in DOMAIN.expand(cell)]
    assert [s.key for s in DOMAIN.expand({**cell, "train": {"val_split": 0.0}})] == plain
    assert [s.key for s in DOMAIN.expand({**cell, "train": {"val_split": 0.1}})][0] != plain[0]


def runs_frame():
    rows = []
    for seed in range(3):
        for method, final, best, val in [("lt", 80.0, 82.0, 81.0), ("random_tickets", 78.0, 79.0, 78.5)]:
            rows.append({"key": f"{method}{seed}", "kind": "ticket", "status": "done", "source": "local",
                         "dataset": "cifar10", "model": "vgg19", "method": method, "check": "none",
                         "sparsity": 0.9, "seed": seed, "variant": "", "test_acc": final + seed,
                         "best_test_acc": best + seed, "val_selected_test_acc": val + seed,
                         "achieved_sparsity": 0.9, "collapsed": False, "spec": "{}"})
    return pd.DataFrame(rows)


def cell_means(table):
    return sorted(c.mean for section in table.sections for row in section.rows for c in row.cells
                  if c.mean is not None)


def test_paper_tables_show_best_accuracy_and_compare_like_with_like():
    from tickets.cli.report import reports_dir

    declared, folder = load_report(reports_dir(), "table1")
    assert declared.metric == "best_test_acc" == declared.paper_metric
    runs = runs_frame()
    best = make_table(declared, runs=runs, folder=folder)
    assert cell_means(best) == [80.0, 83.0]  # mean of 79,80,81 and 82,83,84
    assert best.metric == "best_test_acc"
    final = make_table(declared, runs=runs, metric="test_acc", compare="paper", folder=folder)
    assert cell_means(final) == [79.0, 81.0]
    assert any("Caution: ours are final-epoch test accuracy" in f for f in final.footnotes)
    honest = make_table(declared, runs=runs, metric="val_selected_test_acc", folder=folder)
    assert cell_means(honest) == [79.5, 82.0]
    assert any("best validation epoch" in f for f in honest.footnotes)
    compared = make_table(declared, runs=runs, compare="paper", folder=folder)
    assert compared.metric == "best_test_acc" and not any("Caution" in f for f in compared.footnotes)
