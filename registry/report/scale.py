"""Scale figures: a metric against network size (depth or width), one line per series (e.g. the
ratio rule), one column of panels per panel value (dataset, sparsity), and underneath each panel
the gap to a reference (the dense network of the same size): the Random Pruning paper's view of
"as networks grow, the sparse ones close the gap"."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from registry.errors import UserError
from registry.report.aggregate import _matches
from registry.report.spec import Report, Where

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


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
    return (report.eval is None and chance is not None and rec.get("mean") is not None
            and abs(rec["mean"] - chance) <= 0.005 and abs((rec.get("hi") or 0) - (rec.get("lo") or 0)) <= 1e-9)


def plot_scale(report: Report, stats: "pd.DataFrame", path: str | Path) -> Path:
    from registry.report.aggregate import records
    from registry.report.figures import _pyplot, _save, check_output

    path = check_output(path)
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
    panels = sorted({tuple(r[p] for p in spec.panels) for r in lines}, key=lambda t: [str(v) for v in t])
    plt = _pyplot()
    fig, axes = plt.subplots(2, len(panels), figsize=(3.6 * len(panels), 5.6), squeeze=False,
                             sharex=True, gridspec_kw={"height_ratios": (3, 2)})
    series_values = list(spec.series_labels) + sorted({r[spec.series] for r in lines} - set(spec.series_labels),
                                                      key=str)
    ref_panel_fields = [p for p in spec.panels if p not in spec.reference_ignores]
    for j, panel in enumerate(panels):
        top, bottom = axes[0, j], axes[1, j]
        where = dict(zip(spec.panels, panel))
        ref_where = {p: where[p] for p in ref_panel_fields}
        ref = {_xkey(r[spec.x]): r for r in refs if _is(r, ref_where) and _xkey(r[spec.x]) in position}
        if ref:
            pts = sorted(ref.items(), key=lambda kv: position[kv[0]])
            top.errorbar([position[x] for x, _ in pts], [r["mean"] for _, r in pts],
                         yerr=[r["std"] or 0.0 for _, r in pts], color="black", marker="s", capsize=3, label="dense")
        for series in series_values:
            pts = sorted(((_xkey(r[spec.x]), r) for r in lines if _is(r, where) and r[spec.series] == series
                          and _xkey(r[spec.x]) in position), key=lambda kv: position[kv[0]])
            if not pts:
                continue
            label = spec.series_labels.get(series, str(series))
            line = top.errorbar([position[x] for x, _ in pts], [r["mean"] for _, r in pts],
                                yerr=[r["std"] or 0.0 for _, r in pts], marker="o", capsize=3, label=label)
            gaps = [(position[x], r["mean"] - ref[x]["mean"]) for x, r in pts if x in ref]
            if gaps:
                bottom.plot([g[0] for g in gaps], [g[1] for g in gaps], marker="o", color=line[0].get_color())
        bottom.axhline(0.0, color="black", linewidth=0.8)
        top.set_title(" / ".join(_label(v, spec.panel_labels, p) for p, v in zip(spec.panels, panel)), fontsize=9)
        top.grid(alpha=0.3)
        bottom.grid(alpha=0.3)
        bottom.set_xticks(range(len(xs)), [spec.x_labels.get(x, str(x)) for x in xs], rotation=30)
        bottom.set_xlabel(spec.x_title or spec.x)
        if j == 0:
            what = report.metric if report.eval is None else f"{report.eval} {report.metric}"
            top.set_ylabel("test accuracy (%)" if what == "test_acc" else what)
            bottom.set_ylabel("gap to dense")
            top.legend(fontsize=7)
    fig.suptitle(report.title, fontsize=10)
    if collapsed:
        names = "; ".join(f"{spec.series_labels.get(r[spec.series], r[spec.series])} at "
                          f"{spec.x_labels.get(r[spec.x], r[spec.x])} "
                          f"({', '.join(_label(r[p], spec.panel_labels, p) for p in spec.panels)})"
                          for r in collapsed)
        fig.text(0.01, 0.005, f"not drawn, collapsed to chance: {names}", fontsize=7, ha="left", va="bottom")
    fig.tight_layout(rect=(0, 0.03 if collapsed else 0, 1, 1))
    try:
        return _save(fig, path)
    finally:
        plt.close(fig)


__all__ = ["ScaleFigure", "plot_scale"]
