"""Grids, unions, exclusions and study files: expansion and the one-line errors for mistakes."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from registry.errors import UserError
from registry.grid import Grid, Study
from tickets.study import Grid as TGrid
from tickets.study import Study as TStudy
from tickets.study import load_study


def test_grid_product_fixed_and_exclusions():
    grid = Grid(axes={"a": [1, 2], "b": ["x", "y"]}, fixed={"c": 0},
                exclude=[{"a": 2, "b": "y"}, lambda cell: cell["a"] == 1 and cell["b"] == "x"])
    assert list(grid.cells()) == [{"a": 1, "b": "y", "c": 0}, {"a": 2, "b": "x", "c": 0}]


def test_dict_axis_values_merge_into_the_cell():
    grid = Grid(axes={"m": [{"method": "snip", "method_options": {"k": 1}}], "s": [0.9]})
    assert list(grid.cells()) == [{"method": "snip", "method_options": {"k": 1}, "s": 0.9}]


def test_empty_axis_and_duplicate_cells_are_user_errors():
    with pytest.raises(UserError, match="axis 'b' is empty"):
        Grid(axes={"a": [1], "b": []})
    study = Study("dup", [Grid(axes={"a": [1, 2]}), Grid(axes={"a": [2, 3]})])
    with pytest.raises(UserError, match=r"duplicate cell .*grid 1 and grid 2.*a=2"):
        study.cells()


@dataclass(frozen=True)
class Snip:  # stands in for tickets.pruning.methods.Snip (a configured method dataclass)
    name = "snip"
    samples_per_class: int = 10


def test_typed_study_compiles_methods_options_and_union():
    study = TStudy("t",
                   TGrid(datasets="cifar10", models=["vgg19"], methods=["dense"], sparsities=[0]),
                   TGrid(datasets=["cifar10"], models=["vgg19"], methods=["lt", Snip(samples_per_class=5)],
                         sparsities=[0.9, 0.95], seeds=[0, 1], method_options={"lt": {"prune_classifier": True}},
                         train={"epochs": 2}, exclude=[{"method": "lt", "sparsity": 0.95}]))
    cells = study.cells()
    assert len(cells) == 1 + (1 * 1 + 2) * 2  # dense; lt at 0.9 only; snip at both sparsities
    snip = [c for c in cells if c["method"] == "snip"]
    assert snip[0]["method_options"] == {"samples_per_class": 5}
    lt = [c for c in cells if c["method"] == "lt"]
    assert lt[0]["method_options"] == {"prune_classifier": True} and lt[0]["train"] == {"epochs": 2}
    assert {c["seed"] for c in cells} == {0, 1}


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "studies" / "x.py"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


def test_load_study_reports_file_and_line(tmp_path):
    path = _write(tmp_path, "from tickets.study import Grid, Study\n\nstudy = Study('x', Grid(datasets=[\n")
    with pytest.raises(UserError, match=rf"{path}:3: .*never closed"):
        load_study(path)
    path = _write(tmp_path, "from tickets.study import Grid, Study\nx = 1\nstudy = Study('x', Grid(datasets=[], "
                            "models=['m'], methods=['dense'], sparsities=[0]))\n")
    with pytest.raises(UserError) as err:
        load_study(path).cells()
    assert str(err.value).startswith(f"{path}: ") and "datasets is empty" in str(err.value)
    path = _write(tmp_path, "a = 1\nb = 1 / 0\n")
    with pytest.raises(UserError, match=rf"{path}:2: ZeroDivisionError"):
        load_study(path)
    path = _write(tmp_path, "a = 1\n")
    with pytest.raises(UserError, match="defines no `study`"):
        load_study(path)


def test_load_study_returns_the_compiled_cells(tmp_path):
    path = _write(tmp_path, "from tickets.study import Grid, Study\n"
                            "study = Study('q', grids=[Grid(datasets=['d1'], models=['m1'], methods=['rand'], "
                            "sparsities=[0.5, 0.9])], domain='fake_domain:DOMAIN')\n")
    study = load_study(path)
    assert study.name == "q" and study.domain == "fake_domain:DOMAIN"
    assert [c["sparsity"] for c in study.cells()] == [0.5, 0.9]
