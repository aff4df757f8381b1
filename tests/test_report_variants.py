"""Runs that differ in more than the seed are never averaged silently: paper tables select the
paper's settings (variant ""), and a cell that still pools variants or repeats a seed is marked *,
warned about, and refused under --strict."""
from __future__ import annotations

import csv

from click.testing import CliRunner

from tickets.cli.main import cli


def _import(tmp_path, rows):
    rows = [{**r, "best_test_acc": r["test_acc"]} for r in rows]  # paper tables show best_test_acc
    path = tmp_path / "runs.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["dataset", "model", "method", "check", "sparsity", "seed",
                                                "test_acc", "best_test_acc", "variant"])
        writer.writeheader()
        writer.writerows(rows)
    home = tmp_path / "home"
    result = CliRunner().invoke(cli, ["--home", str(home), "store", "import", str(path)])
    assert result.exit_code == 0, result.output
    return home


def _rows(method, values, variant="", dataset="fashionmnist", model="lenet300", sparsity=0.9):
    return [{"dataset": dataset, "model": model, "method": method, "check": "none", "sparsity": sparsity,
             "seed": seed, "test_acc": value, "variant": variant} for seed, value in enumerate(values)]


def _report(home, *args):
    result = CliRunner().invoke(cli, ["--home", str(home), "report", *args])
    return result.exit_code, result.output


def test_paper_table_ignores_ablation_variants(tmp_path):
    cells = [("vgg19", "cifar10")]
    rows = []
    for model, dataset in cells:
        rows += _rows("random_tickets", [93.7, 93.8, 93.9], dataset=dataset, model=model)
        rows += _rows("random_tickets", [70.0, 71.0, 72.0], variant="rule=ascend", dataset=dataset, model=model)
        rows += _rows("snip", [93.5, 93.6, 93.7], dataset=dataset, model=model)
    home = _import(tmp_path, rows)
    code, out = _report(home, "table1", "--format", "csv")
    assert code == 0, out
    line = next(l for l in out.splitlines() if ",cifar10,vgg19,random_tickets,none,0.9," in l)
    assert ",93.8,0.1,3,3," in line  # mean, std, n, expected: only the smart-ratio runs
    assert "pools" not in out


def test_a_cell_pooling_variants_is_marked_warned_and_refused_when_strict(tmp_path):
    quick = "epochs=3 milestones=2"
    home = _import(tmp_path, _rows("dense", [85.0], sparsity=0.0, variant=quick)
                   + [r for p in (0.9, 0.95, 0.98) for r in _rows("snip", [87.0, 87.2], variant=quick, sparsity=p)]
                   + _rows("snip", [80.0, 80.2], variant="epochs=1"))
    code, out = _report(home, "quickstart", "--format", "markdown")
    assert code == 0, out
    assert "pools variants 'epochs=1', 'epochs=3 milestones=2'" in out  # the warning names them
    snip = next(l for l in out.splitlines() if l.startswith("| SNIP"))
    assert "*" in snip
    code, out = _report(home, "quickstart", "--strict")
    assert code == 2 and "average runs that differ in more than the seed" in out


def test_a_repeated_seed_is_marked(tmp_path):
    rows = [r for p in (0.9, 0.95, 0.98) for r in _rows("snip", [87.0, 87.2], sparsity=p)]
    rows.append({**rows[0], "test_acc": 86.0})  # seed 0 of the 0.9 cell again
    path = tmp_path / "runs.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=[*rows[0], "run"])  # 'run' tells the two seed-0 rows apart
        writer.writeheader()
        writer.writerows({**r, "run": i} for i, r in enumerate(rows))
    home = tmp_path / "home"
    assert CliRunner().invoke(cli, ["--home", str(home), "store", "import", str(path)]).exit_code == 0
    code, out = _report(home, "quickstart", "--format", "markdown")
    assert code == 0 and "sparsity=0.9 method=snip check=none: holds repeated seeds" in out
