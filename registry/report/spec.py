"""What a report declares: which runs, how they are laid out, which number each cell shows.

A declaration under `reports/` builds one `Report` and exposes it as `REPORT`. Selection is by spec
filters (field -> value or list of values), never by study membership, so results imported from
elsewhere land in the same cells as runs made here. Fields are the `run_results` columns; a field
written "spec.<name>" reads that entry of the run's spec JSON.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

Where = Mapping[str, Any]  # field -> value | list/tuple of values | None (missing)


@dataclass(frozen=True)
class Axis:
    """One column axis (outer to inner); `values=None` means every value present in the runs."""

    field: str
    values: tuple[Any, ...] | None = None
    labels: Mapping[Any, str] = field(default_factory=dict)
    title: str = ""  # printed in the header's first column, e.g. "Dataset"
    fmt: str | None = None  # e.g. "{:.0%}" for sparsities

    def label(self, value: Any) -> str:
        if value in self.labels:
            return self.labels[value]
        if self.fmt:
            try:
                return self.fmt.format(value)
            except (ValueError, TypeError):
                pass
        return str(value)


@dataclass(frozen=True)
class Group:
    """A block of rows separated by a rule (e.g. one network); `label` fills "{group}" in row labels."""

    label: str
    where: Where = field(default_factory=dict)


@dataclass(frozen=True)
class Row:
    """One printed row. `key` names it in the paper data file; `label` is printed as is
    ("{group}" is replaced by the group's label). A `reference` row (the full network) ignores the
    report's `reference_axis`, shows its value once under that axis's first value and "-"
    elsewhere, and is never bold. `seeds` overrides the report's expected seed count."""

    key: str
    label: str
    where: Where = field(default_factory=dict)
    reference: bool = False
    seeds: int | None = None


@dataclass(frozen=True)
class AutoRows:
    """Rows discovered from the runs present: one row per distinct combination of `fields`.

    `labels` maps "method" or "method/check" to a printed label; `order` lists preferred
    "method" / "method/check" names first; values in `reference` (e.g. "dense") become reference rows;
    `expected` rows ("method" or "method/check") are there even without runs (cells n/a, named missing)."""

    fields: tuple[str, ...] = ("method", "check")
    labels: Mapping[str, str] = field(default_factory=dict)
    order: tuple[str, ...] = ()
    reference: tuple[str, ...] = ("dense",)
    default_check: str = "none"
    # rows the study always has ("dense", "snip/corrupt"): printed n/a and named as missing cells
    # while they have no runs, as declared rows are, instead of silently left out
    expected: tuple[str, ...] = ()


@dataclass(frozen=True)
class FigureSpec:
    """How a report's cells become a line plot: one panel per distinct value of `panels`,
    one line per value of `series`, x = `x`."""

    panels: tuple[str, ...] = ("model", "dataset", "method")
    series: str = "check"
    x: str = "sparsity"
    series_labels: Mapping[str, str] = field(default_factory=dict)
    panel_labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Report:
    name: str
    title: str
    columns: tuple[Axis, ...]
    rows: tuple[Row, ...] = ()
    groups: tuple[Group, ...] = (Group(""),)
    filters: Where = field(default_factory=dict)
    caption: str = ""
    auto_rows: AutoRows | None = None
    group_by: Axis | None = None  # discover groups from a field instead of listing them
    metric: str = "test_acc"  # or best_test_acc; with `eval`, a metric of that evaluation ("ece")
    eval: str | None = None  # an evaluation label ("calibration", "ood:digits"): cells show its `metric`
    lower_is_better: bool = False  # bolding picks the lowest mean (ECE, NLL, FPR@95)
    # the metric the `paper` file's numbers are ("Best acc" in the seed paper's code: best_test_acc);
    # `--compare paper` uses it unless told otherwise, and says so when told otherwise
    paper_metric: str | None = None
    interval: str = "std"  # INTERVALS name: std (the paper's), sem, t95
    seeds: int = 3  # expected seeds per cell; fewer are marked
    chance: Mapping[str, float] = field(default_factory=dict)  # dataset -> chance accuracy (percent)
    reference_axis: str = "sparsity"
    row_title: str = ""  # header of the label column
    study: str | None = None  # e.g. "studies/table1_cifar.py": how to run missing cells
    paper: str | None = None  # published numbers, relative to the declaration's folder
    decimals: int = 2
    figure: FigureSpec | None = None

    def fields(self) -> list[str]:
        """Every field the cells are keyed by (the GROUP BY of the aggregation)."""
        seen: dict[str, None] = {"dataset": None}
        for axis in self.columns:
            seen[axis.field] = None
        for group in self.groups:
            seen.update(dict.fromkeys(group.where))
        if self.group_by is not None:
            seen[self.group_by.field] = None
        for row in self.rows:
            seen.update(dict.fromkeys(row.where))
        if self.auto_rows is not None:
            seen.update(dict.fromkeys(self.auto_rows.fields))
        seen[self.reference_axis] = None
        return list(seen)
