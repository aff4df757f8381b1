"""Lay per-cell statistics out as the report declares: header rows, sections of rows, cells with
mean, std, n, bold, seed markers, missing cells and (optionally) the paper's value beside ours.

The result is a plain `Table` that every output format renders; nothing here knows a format."""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from registry.errors import UserError
from registry.report.aggregate import METRIC_LABELS, SIZE_METRICS, matching, records
from registry.report.bolding import Candidate, bold_mask
from registry.report.intervals import INTERVALS
from registry.report.paper import UNCONFIRMED_MARK, PaperValue, lookup
from registry.report.spec import Group, Report, Row

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

SEED_MARKS = ("†", "‡", "§", "¶", "††", "‡‡")
MIXED_MARK = "*"  # a cell that pools configurations or repeats seeds: never silently averaged
COLLAPSE_TOLERANCE = 0.005


@dataclass
class Cell:
    coords: dict[str, Any]
    mean: float | None = None
    std: float | None = None
    n: int = 0
    expected: int = 0
    blank: bool = False  # "-": a reference row away from its first column
    missing: bool = False  # no run in the store
    collapsed: bool = False
    bold: bool = False
    mark: str = ""  # seed-count footnote symbol
    mixed: str = ""  # why this cell pools what should not be pooled (variants, repeated seeds)
    paper: PaperValue | None = None
    mean_s: str = ""
    std_s: str = ""
    paper_mean_s: str = ""
    paper_std_s: str = ""
    diff_s: str = ""

    @property
    def diff(self) -> float | None:
        if self.paper is None or self.mean is None:
            return None
        return self.mean - self.paper.mean


@dataclass
class TableRow:
    key: str
    label: str
    cells: list[Cell]
    reference: bool = False
    where: dict[str, Any] = field(default_factory=dict)  # the row's own filters (method, check)


@dataclass
class Section:
    label: str
    rows: list[TableRow]
    heading: str = ""  # printed above the rows when no row label names the group


@dataclass
class HeaderCell:
    label: str
    span: int = 1


@dataclass
class Table:
    name: str
    title: str
    caption: str
    row_title: str
    header: list[list[HeaderCell]]  # one list per column axis, outer first
    axis_titles: list[str]  # printed left of each header row ("Dataset", "")
    columns: list[dict[str, Any]]  # field -> value per printed column
    sections: list[Section]
    footnotes: list[str]
    metric: str
    interval: str
    compare: bool = False
    missing: list[str] = field(default_factory=list)  # descriptions of missing cells
    mixed: list[str] = field(default_factory=list)  # cells pooling different configurations
    study: str | None = None
    caption_note: str = ""  # names the metric and the interval rule; printed after the caption

    @property
    def ncols(self) -> int:
        return len(self.columns)

    def cells(self) -> list[tuple[Section, TableRow, Cell]]:
        return [(s, r, c) for s in self.sections for r in s.rows for c in r.cells]


def _excludes(row_where: Mapping[str, Any], col_where: Mapping[str, Any]) -> bool:
    """A row that selects a field the column also fixes, to values that exclude the column's: that
    cell cannot exist ("-"), it is not a missing run."""
    from registry.report.aggregate import _matches

    return any(k in row_where and not _matches(v, row_where[k], k) for k, v in col_where.items())


# ---------------------------------------------------------------- resolving declared axes

def _present(stats: list[dict[str, Any]], name: str) -> list[Any]:
    values = {rec.get(name) for rec in stats} - {None}
    return sorted(values, key=lambda v: (str(type(v)), v))


def resolve_columns(report: Report, stats: list[dict[str, Any]]) -> tuple[list[tuple[Any, ...]], list[list[Any]]]:
    """Printed columns as tuples of axis values, and each axis's values."""
    values = []
    for axis in report.columns:
        found = list(axis.values) if axis.values is not None else [
            v for v in _present(stats, axis.field) if not (axis.field == report.reference_axis and v == 0)]
        values.append(found)
    return list(itertools.product(*values)), values


def resolve_groups(report: Report, stats: list[dict[str, Any]]) -> list[Group]:
    if report.group_by is None:
        return list(report.groups)
    axis = report.group_by
    values = list(axis.values) if axis.values is not None else _present(stats, axis.field)
    return [Group(axis.label(v), {axis.field: v}) for v in values]


def resolve_rows(report: Report, stats: list[dict[str, Any]], group: Group) -> list[Row]:
    if report.auto_rows is None:
        return list(report.rows)
    auto = report.auto_rows
    present = matching(stats, group.where)
    combos = list(dict.fromkeys(tuple(rec.get(f) for f in auto.fields) for rec in present))
    for key in auto.expected:  # a partly finished study: its rows stay, their cells say n/a
        parts = key.split("/")
        values = {"method": parts[0], "check": parts[1] if len(parts) > 1 else auto.default_check}
        combo = tuple(values.get(f) for f in auto.fields)
        if None not in combo and combo not in combos:
            combos.append(combo)
    rows = []
    for combo in combos:
        where = dict(zip(auto.fields, combo))
        parts = [str(v) for k, v in where.items() if not (k == "check" and v == auto.default_check)]
        key = "/".join(parts)
        head = str(combo[0])
        label = auto.labels.get(key)
        if label is None:
            label = auto.labels.get(head, head)
            extra = [auto.labels.get(str(v), str(v)) for k, v in list(where.items())[1:]
                     if not (k == "check" and v == auto.default_check)]
            if extra:
                label = f"{label} ({', '.join(extra)})"
        rows.append(Row(key, label, where, reference=head in auto.reference))

    def order(row: Row) -> tuple:
        head = row.key.split("/")[0]
        for i, name in enumerate(auto.order):
            if row.key == name:
                return (not row.reference, i, 0, row.key)
        for i, name in enumerate(auto.order):
            if head == name:
                return (not row.reference, i, 1, row.key)
        return (not row.reference, len(auto.order), 0, row.key)

    return sorted(rows, key=order)


# ---------------------------------------------------------------- one cell

def _single_filters(report: Report) -> dict[str, Any]:
    return {k: v for k, v in report.filters.items() if not isinstance(v, (list, tuple, set, frozenset))}


def _mixture(part: list[dict[str, Any]]) -> str:
    """Why a cell's runs should not be averaged together ("" when they may)."""
    variants = sorted({str(rec.get("variant") or "") for rec in part})
    if len(variants) > 1:
        return "pools variants " + ", ".join(repr(v) if v else "'' (defaults)" for v in variants)
    if any(rec.get("seeds") is not None and int(rec["n"]) > int(rec["seeds"]) for rec in part):
        return "holds repeated seeds"
    pooled = []
    for label, column in (("code versions", "code_versions"), ("environments", "envs"),
                          ("data fingerprints", "datas")):
        values = set()
        for rec in part:
            values.update(v for v in (rec.get(column) if rec.get(column) is not None else ()) if v is not None)
        if len(values) > 1:
            pooled.append(f"{len(values)} {label}")
    return "pools runs of " + ", ".join(pooled) if pooled else ""


def _pooled(part: list[dict[str, Any]], chance: dict[str, float]) -> tuple[int, float | None, float | None, bool]:
    """Combine the statistics records of one cell (a row spanning several cell keys) exactly."""
    if not part:
        return 0, None, None, False
    ns = [int(rec["n"]) for rec in part]
    means = [float(rec["mean"]) for rec in part]
    stds = [0.0 if rec["std"] is None or math.isnan(rec["std"]) else float(rec["std"]) for rec in part]
    n = sum(ns)
    mean = means[0] if len(part) == 1 else sum(k * m for k, m in zip(ns, means)) / n
    std = None
    if n >= 2:
        if len(part) == 1:
            std = stds[0]
        else:
            m2 = sum((k - 1) * s * s + k * (m - mean) ** 2 for k, m, s in zip(ns, means, stds))
            std = math.sqrt(max(m2, 0.0) / (n - 1))
    collapsed = True
    for rec in part:
        level = chance.get(rec.get("dataset"))
        # an evaluation's cell is judged by the evaluated networks' accuracy (acc_*), any other by its own
        mean_k, lo_k, hi_k = ("acc_mean", "acc_lo", "acc_hi") if rec.get("acc_mean") is not None else ("mean", "lo", "hi")
        flat = abs(float(rec[hi_k]) - float(rec[lo_k])) <= 1e-9
        at_chance = level is not None and abs(float(rec[mean_k]) - level) <= COLLAPSE_TOLERANCE and flat
        if not (bool(rec["all_collapsed"]) or at_chance):
            collapsed = False
    return n, mean, std, collapsed


def _fmt(value: float | None, decimals: int) -> str:
    return "" if value is None else f"{value:.{decimals}f}"


def _describe(coords: dict[str, Any]) -> str:
    return " ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in coords.items() if v != "")


# ---------------------------------------------------------------- the table

def build_table(report: Report, stats: "pd.DataFrame", *, metric: str | None = None,
                interval: str | None = None, paper: Sequence[PaperValue] | None = None) -> Table:
    """Lay out `stats` (from `registry.report.aggregate`) as `report` declares."""
    metric = metric or report.metric
    interval = interval or report.interval
    INTERVALS.get(interval)
    stats = records(stats)
    columns, axis_values = resolve_columns(report, stats)
    if not columns:
        raise UserError(f"report {report.name!r}: no columns (no runs match its filters)")
    fields = [a.field for a in report.columns]
    ref_axis = report.reference_axis
    ref_pos = fields.index(ref_axis) if ref_axis in fields else None
    first_ref = axis_values[ref_pos][0] if ref_pos is not None else None
    base = _single_filters(report)
    chance = dict(report.chance)
    d = report.decimals

    sections: list[Section] = []
    missing: list[str] = []
    mixed: list[str] = []
    for group in resolve_groups(report, stats):
        in_group = matching(stats, group.where)
        trows = []
        for row in resolve_rows(report, stats, group):
            in_row = matching(in_group, row.where)
            cells = []
            for col in columns:
                col_where = dict(zip(fields, col))
                coords = {**base, **group.where, **col_where}
                if row.reference:
                    coords.pop(ref_axis, None)
                    if ref_pos is not None and col[ref_pos] != first_ref:
                        cells.append(Cell(coords, blank=True))
                        continue
                    col_where.pop(ref_axis, None)
                if _excludes(row.where, col_where):  # e.g. soft filter pruning's own row under weight-level
                    cells.append(Cell(coords, blank=True))
                    continue
                expected = row.seeds if row.seeds is not None else report.seeds
                part = matching(in_row, col_where)
                n, mean, std, collapsed = _pooled(part, chance)
                cell = Cell(coords, mean, std, n, expected, missing=n == 0, collapsed=collapsed,
                            mixed=_mixture(part))
                if cell.missing:
                    missing.append(_describe({**coords, **row.where}))
                if cell.mixed:
                    mixed.append(f"{_describe({**coords, **row.where})}: {cell.mixed}")
                cells.append(cell)
            trows.append(TableRow(row.key, row.label.replace("{group}", group.label), cells, row.reference,
                                  dict(row.where)))
        # bold per column within the group
        for j in range(len(columns)):
            column = [r.cells[j] for r in trows]
            sign = -1.0 if report.lower_is_better else 1.0  # ECE, NLL, FPR: the best is the lowest
            marks = bold_mask([Candidate(None if c.mean is None else sign * c.mean, c.std, c.n, c.collapsed,
                                         r.reference or c.blank or c.missing)
                               for r, c in zip(trows, column)], interval)
            for c, b in zip(column, marks):
                c.bold = b and metric not in SIZE_METRICS
        named = any("{group}" in r.label for r in resolve_rows(report, stats, group))
        sections.append(Section(group.label, trows, "" if named or not group.label else group.label))

    # seed-count marks, paper values, strings
    shortfalls = sorted({(c.n, c.expected) for _, _, c in _cells(sections) if 0 < c.n < c.expected})
    symbols = {sf: SEED_MARKS[min(i, len(SEED_MARKS) - 1)] for i, sf in enumerate(shortfalls)}
    footnotes = [f"{symbols[sf]} n={sf[0]} of {sf[1]} seeds" for sf in shortfalls]
    if mixed:
        footnotes.append(f"{MIXED_MARK} pools runs that differ in more than the seed (see the warning); "
                         f"narrow the report's filters, e.g. on variant")
    for section in sections:
        for trow in section.rows:
            for c in trow.cells:
                c.mark = MIXED_MARK if c.mixed else symbols.get((c.n, c.expected), "")
                c.mean_s = _fmt(c.mean, d)
                c.std_s = _fmt(c.std, d) if c.n >= 2 and c.std is not None else ""
                if paper is not None and not c.blank:
                    c.paper = lookup(list(paper), trow.key, c.coords)
                    if c.paper is not None:
                        c.paper_mean_s = _fmt(c.paper.mean, d) + ("" if c.paper.confirmed else UNCONFIRMED_MARK)
                        c.paper_std_s = _fmt(c.paper.std, d)
                        c.diff_s = f"{round(c.diff, d) + 0.0:+.{d}f}" if c.diff is not None else ""
    if missing:
        footnotes.append("n/a: no runs in the store")
    if any(c.paper is not None and not c.paper.confirmed for s in sections for r in s.rows for c in r.cells):
        footnotes.append(f"paper value with {UNCONFIRMED_MARK}: not confirmed against a copy of its source "
                         f"(see the report's paper file)")
    collapsed_cells: dict[str, list[str]] = {}  # "row (block)" -> the columns it collapsed in
    for section in sections:
        for trow in section.rows:
            for c in trow.cells:
                if c.collapsed and not c.missing and not c.blank:
                    where = f"{trow.label} ({section.label})" if section.label and section.label not in trow.label \
                        else trow.label
                    column = " ".join(axis.label(c.coords[axis.field]) for axis in report.columns
                                      if axis.field in c.coords)
                    collapsed_cells.setdefault(where, []).append(column)
    if collapsed_cells:  # say which cells read chance instead of leaving them to look like results
        shown = "; ".join(f"{row} at {', '.join(columns)}" for row, columns in collapsed_cells.items())
        footnotes.append(f"Collapsed (never bold): {shown} — every run of the cell emptied a layer "
                         f"or sits at chance; its accuracy is chance, not a result of the method")
    rule = interval_text(interval)
    shown = f"{report.eval} {metric}" if report.eval is not None else metric_text(metric)
    if metric in SIZE_METRICS:
        footnotes.append(f"No bold: a network's size is not ranked; {shown}.")
    else:
        footnotes.append(f"Bold: mean within the best row's interval ({rule}) in its column; {shown}.")

    header = []
    for k, axis in enumerate(report.columns):
        inner = math.prod(len(v) for v in axis_values[k + 1:])
        outer = math.prod(len(v) for v in axis_values[:k])
        header.append([HeaderCell(axis.label(v), inner) for _ in range(outer) for v in axis_values[k]])
    return Table(report.name, report.title, report.caption, report.row_title or "", header,
                 [a.title for a in report.columns],
                 [dict(zip(fields, col)) for col in columns], sections, footnotes, metric, interval,
                 compare=paper is not None, missing=missing, mixed=mixed, study=report.study,
                 caption_note=caption_note(metric, interval))


METRIC_TEXT = {"test_acc": "final-epoch test accuracy in %",
               "best_test_acc": "best-epoch test accuracy in % (epoch chosen on the test set, as the paper printed)",
               "val_selected_test_acc": "test accuracy in % at the best validation epoch (held-out split of the training set)"}
INTERVAL_TEXT = {"std": "mean ± std", "sem": "mean ± standard error", "t95": "95% t-interval"}


def metric_text(metric: str) -> str:
    """A metric in words; a metric without words here is named as the store names it."""
    return METRIC_TEXT.get(metric) or METRIC_LABELS.get(metric, metric)


def interval_text(interval: str) -> str:
    return INTERVAL_TEXT.get(interval, interval)


def caption_note(metric: str, interval: str) -> str:
    """The sentence a caption needs to be read alone: which number, over what. In words, not the
    store's column name; the bold rule is said once, in the notes under the table."""
    spread = "mean ± std over seeds"
    if interval != "std":
        spread += f"; the bold rule uses the {interval_text(interval)}"
    return f"Metric: {metric_text(metric)}, {spread}."


def _cells(sections: list[Section]):
    for s in sections:
        for r in s.rows:
            for c in r.cells:
                yield s, r, c

