"""Scale figures: a metric against network size (depth or width), one line per series (e.g. the
ratio rule), one column of panels per panel value (dataset, sparsity), and underneath each panel
the gap to a reference (the dense network of the same size): the Random Pruning paper's view of
"as networks grow, the sparse ones close the gap"."""
from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterator, Mapping

from registry.errors import UserError
from registry.report.aggregate import _matches
from registry.report.spec import Report, Where

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from registry.report.style import FigureOptions


@dataclass(frozen=True)
class ScaleFigure:
    """`x`: the size field ("model", "spec.model_options.width"); `x_values` its order (all present
    when empty). `reference`: the rows every other line is compared with, matched on the panel
    fields it carries (not on `reference_ignores`, e.g. sparsity 0 of a dense network) and on x."""

    x: str
    series: str
    panels: tuple[str, ...] = ("dataset", "sparsity")
    reference: Where = field(default_factory=dict)
    reference_ignores: tuple[str, ...] = ("sparsity",)
    x_values: tuple[Any, ...] = ()
    x_labels: Mapping[Any, str] = field(default_factory=dict)
    x_title: str = ""
    series_labels: Mapping[Any, str] = field(default_factory=dict)
    panel_labels: Mapping[Any, str] = field(default_factory=dict)
    y_title: str = ""  # the metric axis' label (default: from the report's metric)


REFERENCE = "\0reference"  # the reference's slot in the style order: it holds black, no series does


def _is(rec: Mapping[str, Any], where: Where) -> bool:
    return all(_matches(rec.get(k), v, k) for k, v in where.items())


def _label(value: Any, labels: Mapping[Any, str], name: str = "") -> str:
    if value in labels:
        return labels[value]
    if name == "sparsity" and isinstance(value, float):
        return f"{value:.0%}"
    return str(value)


def _xkey(value: Any) -> Any:
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


def _collapsed(report: Report, rec: Mapping[str, Any]) -> bool:
    if rec.get("all_collapsed"):
        return True
    chance = report.chance.get(rec.get("dataset"))
    # an evaluation's cell collapses with the evaluated networks (their own accuracy at chance):
    # a network at chance is trivially calibrated and is no point of the curve
    mean, lo, hi = (("mean", "lo", "hi") if report.eval is None else ("acc_mean", "acc_lo", "acc_hi"))
    return (chance is not None and rec.get(mean) is not None
            and abs(rec[mean] - chance) <= 0.005 and abs((rec.get(hi) or 0) - (rec.get(lo) or 0)) <= 1e-9)


@contextmanager
def _scale_figure(options: "FigureOptions", nrows: int, ncols: int) -> Iterator[tuple[Any, Any]]:
    """2·nrows x ncols axes under the print rc: each panel a metric axis (3) over its gap axis (2),
    sharing x; the size from the options' width (and height when given)."""
    from registry.report.figures import _pyplot
    from registry.report.style import rc

    plt = _pyplot()
    width, height = options.panel_size(nrows, ncols, aspect=0.95)
    with plt.rc_context(rc(options)):
        fig, axes = plt.subplots(2 * nrows, ncols, figsize=(width, height), squeeze=False, layout="constrained",
                                 gridspec_kw={"height_ratios": (3, 2) * nrows})
        for row in range(nrows):
            for col in range(ncols):
                axes[2 * row, col].sharex(axes[2 * row + 1, col])
        try:
            yield fig, axes
        finally:
            plt.close(fig)


def plot_scale(report: Report, stats: "pd.DataFrame", path: str | Path,
               options: "FigureOptions | None" = None, metric: str | None = None) -> tuple[Path, list[str]]:
    """The figure in the shared style (`registry.report.style`): print size from `options`, panels
    wrapped at most three to a row, each a metric axis over its gap-to-reference axis, one legend
    below for every panel, Okabe-Ito styles fixed per series, no title unless `options.title`.
    Returns (path, warnings); the warnings name the collapsed networks left out."""
    from registry.report.aggregate import records
    from registry.report.figures import _finish, check_output, metric_label
    from registry.report.style import FigureOptions, StyleBook

    path = check_output(path)
    options = options or FigureOptions()
    spec: ScaleFigure = report.figure  # type: ignore[assignment]
    recs = records(stats)
    refs = [r for r in recs if spec.reference and _is(r, spec.reference)]
    # like the paper's figures, collapsed networks (at chance with no spread) are left out and named
    collapsed = [r for r in recs if r not in refs and _collapsed(report, r)]
    lines = [r for r in recs if r not in refs and r not in collapsed]
    if not lines:
        raise UserError(f"report {report.name!r}: no runs to draw"
                        + (f"; run them with: tickets study run {report.study}" if report.study else ""))
    xs = [x for x in spec.x_values if any(_xkey(r[spec.x]) == _xkey(x) for r in recs)] or sorted(
        {r[spec.x] for r in recs}, key=lambda v: (isinstance(_xkey(v), str), _xkey(v)))
    position = {_xkey(x): i for i, x in enumerate(xs)}
    order = {v: i for i, v in enumerate(spec.panel_labels)}
    panels = sorted({tuple(r[p] for p in spec.panels) for r in lines},
                    key=lambda t: [(order.get(v, len(order)), str(v)) for v in t])
    from registry.report.style import PALETTE

    order = list(spec.series_labels)
    order.insert(min(PALETTE.index("#000000"), len(order)), REFERENCE)  # black is the reference's
    styles = StyleBook(order, {r[spec.series] for r in lines})
    reference_style = dict(styles(REFERENCE), marker="s", linestyle="-")
    ref_panel_fields = [p for p in spec.panels if p not in spec.reference_ignores]
    ncols = options.columns(len(panels))
    nrows = math.ceil(len(panels) / ncols)
    what = metric or report.metric
    ylabel = spec.y_title or (metric_label(what) if report.eval is None else f"{report.eval} {what}")
    entries: dict[str, Any] = {}
    with _scale_figure(options, nrows, ncols) as (fig, axes):
        for k, panel in enumerate(panels):
            top, bottom = axes[2 * (k // ncols), k % ncols], axes[2 * (k // ncols) + 1, k % ncols]
            where = dict(zip(spec.panels, panel))
            ref_where = {p: where[p] for p in ref_panel_fields}
            ref = {_xkey(r[spec.x]): r for r in refs if _is(r, ref_where) and _xkey(r[spec.x]) in position}
            if ref:
                pts = sorted(ref.items(), key=lambda kv: position[kv[0]])
                handle = top.errorbar([position[x] for x, _ in pts], [r["mean"] for _, r in pts],
                                      yerr=[r["std"] or 0.0 for _, r in pts], label="Dense", **reference_style)
                entries.setdefault("Dense", handle)
            for series in styles.order({r[spec.series] for r in lines}):
                pts = sorted(((_xkey(r[spec.x]), r) for r in lines if _is(r, where) and r[spec.series] == series
                              and _xkey(r[spec.x]) in position), key=lambda kv: position[kv[0]])
                if not pts:
                    continue
                label = spec.series_labels.get(series, str(series))
                style = styles(series)
                handle = top.errorbar([position[x] for x, _ in pts], [r["mean"] for _, r in pts],
                                      yerr=[r["std"] or 0.0 for _, r in pts], label=label, **style)
                entries.setdefault(label, handle)
                gaps = [(position[x], r["mean"] - ref[x]["mean"]) for x, r in pts if x in ref]
                if gaps:
                    bottom.plot([g[0] for g in gaps], [g[1] for g in gaps], **style)
            bottom.axhline(0.0, color="black", linewidth=0.6)
            top.set_title(" / ".join(_label(v, spec.panel_labels, p) for p, v in zip(spec.panels, panel)))
            top.grid(alpha=0.3)
            bottom.grid(alpha=0.3)
            top.tick_params(labelbottom=False)
            ticks = [spec.x_labels.get(x, str(x)) for x in xs]
            room = options.width / ncols / max(1, len(xs))  # inches per tick label
            crowded = room < 0.09 * max(len(t) for t in ticks) * options.font_size / 8
            bottom.set_xticks(range(len(xs)), ticks, rotation=35 if crowded else 0, ha="right" if crowded else "center",
                              rotation_mode="anchor")
            bottom.set_xlabel(spec.x_title or spec.x)
            if k % ncols == 0:  # narrow panels: labels on two lines so they fit their axis
                narrow = options.width / ncols < 2.5
                top.set_ylabel(textwrap.fill(ylabel, 16) if narrow else ylabel)
                bottom.set_ylabel("gap to\ndense" if narrow else "gap to dense")
        for k in range(len(panels), nrows * ncols):
            axes[2 * (k // ncols), k % ncols].set_visible(False)
            axes[2 * (k // ncols) + 1, k % ncols].set_visible(False)
        legend = {"Dense": entries["Dense"]} if "Dense" in entries else {}
        legend.update({k: v for k, v in entries.items() if k != "Dense"})
        warnings = []
        if collapsed:
            names = "; ".join(f"{spec.series_labels.get(r[spec.series], r[spec.series])} at "
                              f"{spec.x_labels.get(r[spec.x], r[spec.x])} "
                              f"({', '.join(_label(r[p], spec.panel_labels, p) for p in spec.panels)})"
                              for r in collapsed)
            warnings.append(f"figure {report.name!r}: not drawn, collapsed to chance: {names}")
        return _finish(fig, axes, axes.size, options, legend, path), warnings


__all__ = ["ScaleFigure", "plot_scale"]
