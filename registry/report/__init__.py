"""Report engine: runs -> per-cell statistics (DuckDB) -> laid-out table with the paper's interval
bolding -> LaTeX / Markdown / HTML / CSV (Jinja) or a terminal table (rich).

Entry points: `make_table` (from a frame of run rows or a store query) and `render`."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from registry.errors import UserError
from registry.report.spec import Axis, AutoRows, FigureSpec, Group, Report, Row

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from registry.report.aggregate import Query
    from registry.report.table import Table

__all__ = ["Axis", "AutoRows", "FigureSpec", "Group", "Report", "Row", "make_table", "render", "missing_message"]


def make_table(report: Report, *, runs: "pd.DataFrame | None" = None, query: "Query | None" = None,
               metric: str | None = None, interval: str | None = None, compare: str | None = None,
               folder: str | Path | None = None) -> "Table":
    """Aggregate `runs` (a frame of run_results rows) or the store behind `query`, lay the table out.

    `compare="paper"` puts the paper's published value (the declaration's `paper` file, relative to
    `folder`) beside each cell."""
    from registry.report.aggregate import stats_from_frame, stats_from_query
    from registry.report.paper import load_paper
    from registry.report.table import build_table

    if (runs is None) == (query is None):
        raise ValueError("give exactly one of runs= or query=")
    if compare == "paper" and metric is None and report.paper_metric:
        metric = report.paper_metric  # compare like with like
    stats = stats_from_frame(report, runs, metric) if runs is not None else stats_from_query(report, query, metric)
    if stats.empty:
        raise UserError(missing_message(report, None))
    paper = None
    if compare is not None:
        if compare != "paper":
            raise UserError(f"unknown comparison {compare!r}; known: paper")
        if not report.paper:
            raise UserError(f"report {report.name!r} has no paper data to compare with")
        paper = load_paper(Path(folder or ".") / report.paper)
    table = build_table(report, stats, metric=metric, interval=interval, paper=paper)
    if paper is not None and report.paper_metric and (metric or report.metric) != report.paper_metric:
        from registry.report.aggregate import METRIC_LABELS

        ours, theirs = metric or report.metric, report.paper_metric
        table.footnotes.append(f"Caution: ours are {METRIC_LABELS.get(ours, ours)}; the paper's numbers "
                               f"are {METRIC_LABELS.get(theirs, theirs)}.")
    return table


def missing_message(report: Report, missing: list[str] | None, shown: int = 3) -> str:
    """One line naming the missing cells (a few, then a count) and the command that runs them."""
    run = f"; run them with: tickets study run {report.study}" if report.study else ""
    if not missing:
        where = ", ".join(f"{k}={v}" for k, v in report.filters.items()) or "any runs"
        return f"report {report.name!r}: no runs in the store match {where}{run}"
    more = f" and {len(missing) - shown} more" if len(missing) > shown else ""
    return f"report {report.name!r}: {len(missing)} cells have no runs ({'; '.join(missing[:shown])}{more}){run}"


# The formats' `render`, imported here rather than wrapped: a function named like the submodule
# would be replaced by the module object as soon as anything imported `registry.report.render`.
from registry.report.render import render  # noqa: E402  (light: jinja2 and rich load on first use)
