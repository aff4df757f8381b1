"""Figures with matplotlib (Agg, imported lazily): a report's cells as lines (Figure 3: accuracy vs
sparsity per method, one line per data/check variant) and per-layer keep ratios of any runs.
The file type follows the suffix (.png, .pdf, .svg); files are published atomically."""
from __future__ import annotations

import io
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from registry.atomic import write_bytes
from registry.errors import UserError
from registry.report.aggregate import where_sql
from registry.report.spec import Report, Where

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

SUFFIXES = (".png", ".pdf", ".svg")


def check_output(path: str | Path) -> Path:
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise UserError(f"cannot draw {path}: use a file name ending in {', '.join(SUFFIXES)}")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise UserError(f"cannot write {path}: folder {parent} does not exist")
    return path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> Path:
    buf = io.BytesIO()
    fig.savefig(buf, format=path.suffix.lower().lstrip("."), bbox_inches="tight", dpi=150)
    try:
        write_bytes(path, buf.getvalue())
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


def _metric_label(metric: str) -> str:
    """The y axis names the accuracy the figure shows (final, best on test, validation-selected)."""
    return {"test_acc": "final test accuracy (%)", "best_test_acc": "best test accuracy (%)",
            "val_selected_test_acc": "test acc. at best val. epoch (%)"}.get(metric, metric)


def plot_report(report: Report, stats: "pd.DataFrame", path: str | Path, metric: str | None = None) -> Path:
    """One panel per distinct combination of the figure's panel fields; one line (mean ± std error
    bars) per series value, against the x field."""
    path = check_output(path)
    spec = report.figure
    if spec is None:
        raise UserError(f"report {report.name!r} declares no figure")
    data = stats[stats[spec.x].notna() & (stats[spec.x] != 0)] if spec.x == "sparsity" else stats
    # like the paper's figures, leave out trivial (collapsed, chance-level) results
    chance = data["dataset"].map(lambda d: report.chance.get(d, float("nan")))
    trivial = data["all_collapsed"].astype(bool) | (((data["mean"] - chance).abs() <= 0.005)
                                                    & ((data["hi"] - data["lo"]).abs() <= 1e-9))
    data = data[~trivial]
    if data.empty:
        raise UserError(f"report {report.name!r}: no runs to draw"
                        + (f"; run them with: tickets study run {report.study}" if report.study else ""))
    # panels in the order the declaration lists their labels (the paper's LT, SNIP, GraSP), then by value
    order = {value: i for i, value in enumerate(spec.panel_labels)}
    panels = data[list(spec.panels)].drop_duplicates().itertuples(index=False, name=None)
    panels = sorted(panels, key=lambda p: [(order.get(v, len(order)), str(v)) for v in p])
    # sparsities spaced evenly (0.9, 0.95 and 0.98 would crowd a linear axis), labelled as printed
    xs = sorted(data[spec.x].dropna().unique())
    position = {x: i for i, x in enumerate(xs)}
    plt = _pyplot()
    ncols = min(3, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.2 * nrows), squeeze=False)
    series_order = list(spec.series_labels) or sorted(data[spec.series].dropna().unique())
    for ax, panel in zip(axes.flat, panels):
        part = data
        for name, value in zip(spec.panels, panel):
            part = part[part[name] == value]
        for series in series_order + sorted(set(part[spec.series]) - set(series_order)):
            line = part[part[spec.series] == series].sort_values(spec.x)
            if line.empty:
                continue
            std = line["std"].fillna(0.0)
            ax.errorbar(line[spec.x].map(position), line["mean"], yerr=std, marker="o", capsize=3,
                        label=spec.series_labels.get(series, str(series)))
        ax.set_title(" / ".join(spec.panel_labels.get(v, str(v)) for v in panel))
        ax.set_xticks(range(len(xs)), [f"{x:.0%}" if spec.x == "sparsity" else f"{x:g}" for x in xs])
        ax.set_xlabel(spec.x)
        ax.set_ylabel(_metric_label(metric or report.metric))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    fig.suptitle(report.title, fontsize=10)
    fig.tight_layout()
    try:
        return _save(fig, path)
    finally:
        plt.close(fig)


def keep_ratio_sql(keys: Sequence[str], where: Where, count_runs: bool = False) -> tuple[str, list[Any]]:
    """Per-layer keep ratios joined with the run's axes, for runs by key prefix and/or filters
    (runs ordered by method, check, sparsity, seed); `count_runs` counts the matching runs instead."""
    clauses, params = where_sql(where)
    if keys:
        clauses.append("(" + " OR ".join("starts_with(key, ?)" for _ in keys) + ")")
        params.extend(keys)
    cond = " AND ".join(clauses) if clauses else "TRUE"
    if count_runs:
        return f"SELECT count(*) AS n FROM run_results WHERE {cond}", params
    sql = ('SELECT l.key, l.idx, l.layer, l.weights, l.kept, l.keep_ratio, r.dataset, r.model, r.method, '
           'r."check", r.sparsity, r.seed FROM layers l JOIN '
           f'(SELECT * FROM run_results WHERE {cond}) r ON r.key = l.key '
           'ORDER BY r.model, r.method, r."check", r.sparsity, r.seed, l.key, l.idx')
    return sql, params


def plot_keep_ratios(layers: "pd.DataFrame", path: str | Path, max_legend: int = 12,
                     log_scale: bool = False) -> Path:
    """One line per run: keep ratio against the layer's position."""
    path = check_output(path)
    if layers.empty:
        raise UserError("no per-layer keep ratios for those runs (dense runs record none)")
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    runs = list(layers.groupby("key", sort=False))
    for key, part in runs:
        first = part.iloc[0]
        sparsity = first.get("sparsity")
        label = (f"{first.get('model')} {first.get('method')}"
                 + (f"/{first.get('check')}" if first.get("check") not in (None, "none") else "")
                 + (f" p={sparsity:g}" if isinstance(sparsity, float) and not math.isnan(sparsity) else "")
                 + f" seed {first.get('seed')} ({str(key)[:8]})")
        ax.plot(part["idx"], part["keep_ratio"], marker=".", label=label)
    ax.set_xlabel("prunable layer (registration order)")
    names = layers.drop_duplicates("idx").sort_values("idx")
    if len(names) <= 20:  # few layers: name each one (e.g. LeNet's fc1, fc2, fc3)
        ax.set_xticks(list(names["idx"]), [str(n).removesuffix(".weight") for n in names["layer"]],
                      rotation=30 if len(names) > 6 else 0, ha="right" if len(names) > 6 else "center",
                      fontsize=7)
    else:
        ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_ylabel("keep ratio")
    if log_scale:  # a collapsed layer (ratio 0) sits at the bottom edge
        ax.set_yscale("log")
        ax.set_ylim(max(1e-5, 0.5 * float(layers["keep_ratio"][layers["keep_ratio"] > 0].min() or 1e-5)), 1.5)
    else:
        ax.set_ylim(0, 1.05)
    ax.grid(alpha=0.3)
    if len(runs) <= max_legend:
        ax.legend(fontsize=7)
    ax.set_title(f"Per-layer keep ratios of {len(runs)} run{'s' if len(runs) != 1 else ''}", fontsize=10)
    fig.tight_layout()
    try:
        return _save(fig, path)
    finally:
        plt.close(fig)
