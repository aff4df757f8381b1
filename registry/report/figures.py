"""Figures with matplotlib (Agg, imported lazily), sized for print: a report's cells as lines
(Figure 3), and for any study accuracy against sparsity, learning curves, model size against
accuracy and per-layer keep ratios.

Every figure: one fixed style per series (`registry.report.style`), one shared legend below the
panels, no title unless asked for, Type 42 fonts in PDF. The file type follows the suffix (.png,
.pdf, .svg); files are published atomically. Drawing functions return the path and a list of
warnings (series or runs left out, and why) for the caller to print."""
from __future__ import annotations

import collections
import io
import math
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Sequence

from registry.atomic import write_bytes
from registry.errors import UserError
from registry.report.aggregate import where_sql
from registry.report.spec import Report, Where
from registry.report.style import FigureOptions, MethodStyles, StyleBook, legend_columns, rc

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

SUFFIXES = (".png", ".pdf", ".svg")
Drawn = tuple[Path, list[str]]
SeriesLabel = Callable[[Mapping[str, Any]], str]  # a run's (or cell's) fields -> legend label
# the y axis names the accuracy the figure shows (final, best on test, validation-selected)
METRIC_LABELS = {"test_acc": "final test accuracy (%)", "best_test_acc": "best test accuracy (%)",
                 "val_selected_test_acc": "test acc. at best val. epoch (%)"}


def metric_label(metric: str) -> str:
    return METRIC_LABELS.get(metric, metric.replace("_", " "))


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


@contextmanager
def _figure(options: FigureOptions, nrows: int = 1, ncols: int = 1, aspect: float = 0.75,
            sharey: bool = False) -> Iterator[tuple[Any, Any]]:
    """A constrained-layout figure of nrows x ncols panels at print size, under the print rc."""
    plt = _pyplot()
    with plt.rc_context(rc(options)):
        fig, axes = plt.subplots(nrows, ncols, figsize=options.panel_size(nrows, ncols, aspect),
                                 squeeze=False, layout="constrained", sharey=sharey)
        try:
            yield fig, axes
        finally:
            plt.close(fig)


def _save(fig: Any, path: Path) -> Path:
    buf = io.BytesIO()
    # exactly the asked size (constrained layout fits everything inside), not "tight", which would
    # grow or shrink the figure and so its text when the paper scales it to the column
    fig.savefig(buf, format=path.suffix.lower().lstrip("."), dpi=300)
    try:
        write_bytes(path, buf.getvalue())
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


def _finish(fig: Any, axes: Any, used: int, options: FigureOptions, entries: Mapping[str, Any],
            path: Path, extra: Sequence[tuple[Any, str]] = ()) -> Path:
    """Hide unused panels, add the one shared legend (every series, in style order) and the
    optional title, save."""
    for ax in list(axes.flat)[used:]:
        ax.set_visible(False)
    handles = list(entries.values()) + [h for h, _ in extra]
    labels = [_fit_label(label, options) for label in list(entries) + [label for _, label in extra]]
    if handles:
        ncols = legend_columns(labels, options.width, options.font_size)
        fig.legend(handles, labels, loc="outside lower center", frameon=False, ncols=ncols,
                   handlelength=2.2, columnspacing=1.2)
        if options.height is None:  # room for the legend below the panels, which keep their size
            width, height = fig.get_size_inches()
            rows = math.ceil(len(labels) / ncols)
            fig.set_size_inches(width, height + rows * 1.45 * options.font_size / 72 + 0.1)
    if options.title:
        fig.suptitle(options.title)
    return _save(fig, path)


def _fit_label(label: str, options: FigureOptions) -> str:
    """A legend entry wrapped onto lines no wider than the figure (a long one ran off the page)."""
    import textwrap

    chars = max(12, int(options.width * 72 / (0.55 * options.font_size)) - 6)
    return "\n".join(textwrap.wrap(label, chars, break_on_hyphens=False)) if len(label) > chars else label


def _sparsity_ticks(ax: Any, xs: Sequence[float]) -> dict[float, float]:
    """Sparsities spaced evenly (0.9, 0.95 and 0.98 would crowd a linear axis), labelled as
    printed; past 12 values a plain linear axis in percent."""
    if len(xs) <= 12:
        position = {x: float(i) for i, x in enumerate(xs)}
        ax.set_xticks(range(len(xs)), [f"{x:.0%}" if round(x * 100, 6) == round(x * 100) else f"{x:.1%}"
                                       for x in xs])
        ax.set_xlim(-0.4, len(xs) - 0.6)
    else:
        position = {x: x * 100 for x in xs}
    ax.set_xlabel("sparsity" if len(xs) <= 12 else "sparsity (%)")
    return position


# ---------------------------------------------------------------- a report's figure (Figure 3)

def _arrange(options: FigureOptions, panels: list[tuple]) -> tuple[int, list[tuple]]:
    """Panels per row, and the panels in grid order, such that a row never mixes values of the
    outer panel field (Figure 3's VGG19 and ResNet32): rows of one outer value where their count
    divides into rows, else one column per outer value (each row then one method), else one column."""
    usual = options.columns(len(panels))
    outer = list(dict.fromkeys(p[0] for p in panels))
    per_outer = collections.Counter(p[0] for p in panels)
    if len(outer) < 2 or len(set(per_outer.values())) != 1:
        return usual, panels
    k = per_outer[outer[0]]
    if k % usual == 0:
        return usual, panels
    if usual == len(outer):  # transpose: column j holds outer value j, row i its i-th panel
        by_outer = {o: [p for p in panels if p[0] == o] for o in outer}
        return usual, [by_outer[o][i] for i in range(k) for o in outer]
    return 1, panels


def plot_report(report: Report, stats: "pd.DataFrame", path: str | Path,
                options: FigureOptions | None = None, metric: str | None = None) -> Drawn:
    """One panel per distinct combination of the figure's panel fields; one line (mean ± std error
    bars) per series value, against the x field. Warns about declared series a panel lacks."""
    path = check_output(path)
    options = options or FigureOptions()
    spec = report.figure
    if spec is None:
        raise UserError(f"report {report.name!r} declares no figure")
    from registry.report.scale import ScaleFigure, plot_scale

    if isinstance(spec, ScaleFigure):  # metric against network size, with the gap to dense
        return plot_scale(report, stats, path, options, metric)
    data = stats[stats[spec.x].notna() & (stats[spec.x] != 0)] if spec.x == "sparsity" else stats
    # like the paper's figures, leave out trivial (collapsed, chance-level) results
    chance = data["dataset"].map(lambda d: report.chance.get(d, float("nan")))
    trivial = data["all_collapsed"].astype(bool) | (((data["mean"] - chance).abs() <= 0.005)
                                                    & ((data["hi"] - data["lo"]).abs() <= 1e-9))
    data = data[~trivial]
    if data.empty:
        raise UserError(f"report {report.name!r}: no runs to draw"
                        + (f"; run them with: tickets study run {report.study}" if report.study else ""))
    order = {value: i for i, value in enumerate(spec.panel_labels)}
    panels = data[list(spec.panels)].drop_duplicates().itertuples(index=False, name=None)
    panels = sorted(panels, key=lambda p: [(order.get(v, len(order)), str(v)) for v in p])
    # a field with one value in every panel (Figure 3's CIFAR-10) is left out of the panel titles
    constant = [len({p[i] for p in panels}) == 1 and len(panels) > 1 for i in range(len(spec.panels))]
    xs = sorted(data[spec.x].dropna().unique())
    styles = StyleBook(spec.series_labels, data[spec.series].dropna().unique())
    declared = list(spec.series_labels)
    warnings: list[str] = []
    ncols, panels = _arrange(options, panels)
    nrows = math.ceil(len(panels) / ncols)
    entries: dict[str, Any] = {}
    with _figure(options, nrows, ncols) as (fig, axes):
        if nrows > 1:  # one label for the column of panels: a label per short panel is clipped
            fig.supylabel(metric_label(metric or report.metric), fontsize=options.font_size)
        for i, (ax, panel) in enumerate(zip(axes.flat, panels)):
            part = data
            for name, value in zip(spec.panels, panel):
                part = part[part[name] == value]
            position = _sparsity_ticks(ax, xs) if spec.x == "sparsity" else {x: x for x in xs}
            present = set(part[spec.series])
            lacking = [s for s in declared if s not in present]
            title = " / ".join(spec.panel_labels.get(v, str(v)) for v, same in zip(panel, constant) if not same)
            if lacking:
                warnings.append(f"panel {title}: no runs for "
                                + ", ".join(spec.series_labels.get(s, str(s)) for s in lacking))
            for series in styles.order(present):
                line = part[part[spec.series] == series].sort_values(spec.x)
                label = spec.series_labels.get(series, str(series))
                handle = ax.errorbar(line[spec.x].map(position), line["mean"], yerr=line["std"].fillna(0.0),
                                     label=label, **styles(series))
                entries.setdefault(label, handle)
            ax.set_title(title)
            if spec.x != "sparsity":
                ax.set_xlabel(spec.x)
            if i % ncols == 0 and nrows == 1:
                ax.set_ylabel(metric_label(metric or report.metric))
            ax.grid(alpha=0.3)
        ordered = {spec.series_labels.get(s, str(s)): None for s in styles.order(data[spec.series].dropna())}
        entries = {label: entries[label] for label in ordered if label in entries}
        absent = [spec.series_labels[s] for s in declared if s not in set(data[spec.series])]
        if absent:
            warnings.insert(0, f"figure {report.name!r} draws no {', '.join(absent)}: "
                            f"no runs of {'that series' if len(absent) == 1 else 'those series'}"
                            + (f"; run them with: tickets study run {report.study}" if report.study else ""))
        return _finish(fig, axes, len(panels), options, entries, path), warnings


# ---------------------------------------------------------------- per-layer keep ratios

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
           'r."check", r.sparsity, r.seed, r.variant FROM layers l JOIN '
           f'(SELECT * FROM run_results WHERE {cond}) r ON r.key = l.key '
           'ORDER BY r.model, r.method, r."check", r.sparsity, r.seed, l.key, l.idx')
    return sql, params


def distinct_variants(variants: "pd.Series") -> "pd.Series":
    """Each variant string less the option settings every one of them has ("epochs=2 milestones=1"
    on every line of a study says nothing in a legend; figure3 leaves shared options out too)."""
    texts = variants.fillna("").astype(str)
    token_sets = [set(t.split()) for t in texts.unique()]
    shared = set.intersection(*token_sets) if token_sets else set()
    return texts.map(lambda t: " ".join(tok for tok in t.split() if tok not in shared))


def default_label(fields: Mapping[str, Any]) -> str:
    """A readable series label from a run's fields when the caller gives no naming."""
    parts = [str(fields.get("method"))]
    check = fields.get("check")
    if check not in (None, "", "none"):
        parts.append(f"({check})")
    if fields.get("variant"):
        parts.append(f"[{fields['variant']}]")
    return " ".join(parts)


def _sparsity_text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{float(value):.0%}" if round(float(value) * 100, 6) == round(float(value) * 100) else f"{float(value):.1%}"


def _qualifier(fields: Mapping[str, Any], with_sparsity: bool = False) -> str:
    """What sets a series apart from its method's plain line (check, variant, sparsity)."""
    parts = []
    if fields.get("check") not in (None, "", "none"):
        parts.append(str(fields["check"]))
    if fields.get("variant"):
        parts.append(f"[{fields['variant']}]")
    if with_sparsity and fields.get("sparsity"):
        parts.append(f"{float(fields['sparsity']):09.6f}")
    return " ".join(parts)


def plot_keep_ratios(layers: "pd.DataFrame", path: str | Path, *, options: FigureOptions | None = None,
                     log_scale: bool = False, label: SeriesLabel = default_label,
                     order: Sequence[str] = ()) -> Drawn:
    """Keep ratio against the layer's position: one line per (model, method, check, variant,
    sparsity), averaged over seeds (a band spans their range). Unpruned runs (every layer kept
    whole) are left out and named in a warning; on a log axis, collapsed layers (nothing kept) are
    drawn at the axis floor with an x marker instead of falling off it."""
    path = check_output(path)
    options = options or FigureOptions()
    if layers.empty:
        raise UserError("no per-layer keep ratios for those runs (dense runs record none)")
    layers = layers.copy()
    if "variant" not in layers.columns:
        layers["variant"] = ""
    layers["variant"] = layers["variant"].fillna("")
    layers["variant"] = distinct_variants(layers["variant"])  # options every line shares: not in the legend
    whole = layers.groupby("key")["keep_ratio"].transform(lambda s: bool((s >= 1.0).all()))
    dense_keys = sorted(set(layers.loc[whole.astype(bool), "key"]))
    warnings = []
    if dense_keys:
        warnings.append(f"left out {len(dense_keys)} unpruned run{'s' if len(dense_keys) != 1 else ''} "
                        f"(every layer kept whole): {', '.join(k[:12] for k in dense_keys[:5])}"
                        + (" ..." if len(dense_keys) > 5 else ""))
        layers = layers[~layers["key"].isin(dense_keys)]
        if layers.empty:
            raise UserError("those runs are unpruned (every layer kept whole): no keep ratios to draw")
    group_fields = ["model", "method", "check", "variant", "sparsity"]
    models = layers["model"].nunique()
    layers["sparsity"] = layers["sparsity"].astype(float).round(6)
    per_layer = (layers.groupby(group_fields + ["idx"], dropna=False)["keep_ratio"]
                 .agg(["mean", "min", "max"]).reset_index())
    seeds = layers.groupby(group_fields, dropna=False)["key"].nunique()
    # what every line shares (one sparsity, one seed count) is said once, in a warning, not per entry
    one_sparsity = layers["sparsity"].nunique() == 1 and per_layer.groupby(group_fields).ngroups > 1
    one_count = seeds.nunique() == 1 and len(seeds) > 1
    if one_sparsity or (one_count and int(seeds.iloc[0]) > 1):
        shared = ([f"sparsity {_sparsity_text(layers['sparsity'].iloc[0])}"] if one_sparsity else []) + \
                 ([f"mean of {int(seeds.iloc[0])} seeds"] if one_count and int(seeds.iloc[0]) > 1 else [])
        warnings_shared = f"every line: {', '.join(shared)}"
    else:
        warnings_shared = ""
    series = []
    for fields, part in per_layer.groupby(group_fields, dropna=False, sort=False):
        info = dict(zip(group_fields, fields))
        text = (f"{info['model']} " if models > 1 else "") + label(info)
        sp = "" if one_sparsity else _sparsity_text(info["sparsity"])
        n = int(seeds.loc[fields])
        text += (f", {sp}" if sp else "") + (f" ({n} seeds)" if n > 1 and not one_count else "")
        series.append((info["method"], (f"{info['model']} " if models > 1 else "") + _qualifier(info, True),
                       text, part.sort_values("idx")))
    styles = MethodStyles(order, [(m, q) for m, q, _, _ in series])
    series.sort(key=lambda s: (styles.key(s[0], s[1]), s[2]))
    positive = layers["keep_ratio"][layers["keep_ratio"] > 0]
    floor = max(1e-6, 0.3 * float(positive.min())) if log_scale and not positive.empty else 1e-6
    collapsed_any = False
    entries: dict[str, Any] = {}
    names = layers.drop_duplicates("idx").sort_values("idx")
    with _figure(options, aspect=0.55) as (fig, axes):
        ax = axes[0, 0]
        for method, qualifier, text, part in series:
            style = styles(method, qualifier)
            clip = (lambda v: v.clip(min=floor)) if log_scale else (lambda v: v)
            (handle,) = ax.plot(part["idx"], clip(part["mean"].to_numpy()), label=text, **style)
            entries[text] = handle
            if (part["max"] > part["min"]).any():
                ax.fill_between(part["idx"], clip(part["min"].to_numpy()), clip(part["max"].to_numpy()),
                                color=style["color"], alpha=0.15, linewidth=0)
            zero = (part["mean"] <= 0).to_numpy()
            if log_scale and zero.any():
                collapsed_any = True
                ax.plot(part["idx"].to_numpy()[zero], [floor] * int(zero.sum()), linestyle="none", marker="x",
                        color="#D55E00", markersize=7, markeredgewidth=1.5, zorder=5)
        ax.set_xlabel("prunable layer (registration order)")
        if len(names) <= 20:  # few layers: name each one (e.g. LeNet's fc1, fc2, fc3)
            ax.set_xticks(list(names["idx"]), [str(n).removesuffix(".weight") for n in names["layer"]],
                          rotation=30 if len(names) > 6 else 0, ha="right" if len(names) > 6 else "center")
        else:
            ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_ylabel("keep ratio")
        extra = []
        if log_scale:
            ax.set_yscale("log")
            ax.set_ylim(floor * 0.6, 1.5)
            if collapsed_any:
                from matplotlib.lines import Line2D

                extra.append((Line2D([], [], linestyle="none", marker="x", color="#D55E00", markersize=7,
                                     markeredgewidth=1.5), "collapsed layer (nothing kept), drawn at the floor"))
                warnings.append("some layers keep no weights (collapsed): marked x at the axis floor")
        else:
            top = float(per_layer["max"].max())
            ax.set_ylim(0, 1.05 if top > 0.6 else max(0.05, top * 1.15))
        ax.grid(alpha=0.3)
        if warnings_shared:  # said on the plot, where a reader of the figure sees it
            ax.set_title(warnings_shared.removeprefix("every line: "), fontsize=options.font_size)
        return _finish(fig, axes, 1, options, entries, path, extra), warnings


# ---------------------------------------------------------------- any study: accuracy vs sparsity

def _cond(where: Where) -> tuple[str, list[Any]]:
    clauses, params = where_sql(where)
    return (" AND ".join(clauses) if clauses else "TRUE"), params


def accuracy_sql(where: Where, metric: str = "test_acc") -> tuple[str, list[Any]]:
    """Mean, sample std and count of `metric` over seeds per (dataset, model, method, check,
    variant, sparsity) of the runs matching `where` (failed runs left out)."""
    cond, params = _cond(where)
    sql = (f'SELECT dataset, model, method, "check", coalesce(variant, \'\') AS variant, '
           f'round(coalesce(sparsity, 0), 6) AS sparsity, count(*) AS n, avg("{metric}") AS mean, '
           f'stddev_samp("{metric}") AS std, bool_and(coalesce(collapsed, false)) AS collapsed '
           f'FROM run_results WHERE {cond} '
           f"AND status IS DISTINCT FROM 'failed' AND \"{metric}\" IS NOT NULL GROUP BY ALL "
           f'ORDER BY dataset, model, method, "check", variant, sparsity')
    return sql, params


def _panels(data: "pd.DataFrame") -> list[tuple[str, str]]:
    return [tuple(p) for p in data[["dataset", "model"]].drop_duplicates().sort_values(["dataset", "model"])
            .itertuples(index=False, name=None)]


def _series(data: "pd.DataFrame", label: SeriesLabel, order: Sequence[str],
            with_sparsity: bool = False) -> MethodStyles:
    """Label each row's series (columns `series`, `smethod`, `squal`) and fix the series' styles."""
    variants = distinct_variants(data["variant"])  # options every series shares tell none apart

    def fields(r):
        return {"method": r["method"], "check": r["check"], "variant": variants[r.name],
                "sparsity": r["sparsity"]}

    data["series"] = [label(fields(r)) + (f", {_sparsity_text(r['sparsity'])}" if with_sparsity and r["sparsity"]
                                          else "") for _, r in data.iterrows()]
    data["smethod"] = data["method"]
    data["squal"] = [_qualifier(fields(r), with_sparsity) for _, r in data.iterrows()]
    pairs = data[["smethod", "squal"]].drop_duplicates().itertuples(index=False, name=None)
    return MethodStyles(order, pairs)


def _in_order(part: "pd.DataFrame", styles: MethodStyles) -> list[tuple[str, str, str]]:
    """(series, method, qualifier) of `part`, legend order."""
    found = part[["series", "smethod", "squal"]].drop_duplicates().itertuples(index=False, name=None)
    return sorted(found, key=lambda s: (styles.key(s[1], s[2]), s[0]))


def _dense(part: "pd.DataFrame") -> "pd.Series":
    return (part["method"] == "dense") | (part["sparsity"] == 0)


def plot_accuracy(stats: "pd.DataFrame", path: str | Path, *, options: FigureOptions | None = None,
                  metric: str = "test_acc", label: SeriesLabel = default_label, order: Sequence[str] = (),
                  panel_label: Callable[[str, str], str] = lambda d, m: f"{m} on {d}") -> Drawn:
    """Accuracy against sparsity, one panel per (dataset, model), one line per method (and check /
    variant) with mean ± std error bars over seeds; the dense network is a dotted reference line."""
    path = check_output(path)
    options = options or FigureOptions()
    if stats.empty:
        raise UserError("no finished runs match those filters (see `tickets runs ls`)")
    stats = stats.copy()
    pruned = stats[~_dense(stats)].copy()
    if pruned.empty:
        raise UserError("only unpruned runs match those filters: nothing to draw against sparsity")
    styles = _series(pruned, label, order)
    warnings = []
    if "collapsed" in pruned.columns:  # a layer pruned away: accuracy at chance would squash the axis
        gone = pruned[pruned["collapsed"].fillna(False).astype(bool)]
        if not gone.empty:
            warnings.append(f"left out {len(gone)} collapsed point{'s' if len(gone) != 1 else ''} (every seed "
                            f"lost a whole layer; accuracy at chance): "
                            + ", ".join(f"{s} at {_sparsity_text(p)}" for s, p in zip(gone["series"], gone["sparsity"])))
            pruned = pruned[~pruned.index.isin(gone.index)]
            if pruned.empty:
                raise UserError("every pruned point matching those filters collapsed: nothing to draw")
    panels = _panels(pruned)
    xs = sorted(pruned["sparsity"].unique())
    ncols = options.columns(len(panels))
    nrows = math.ceil(len(panels) / ncols)
    entries: dict[str, Any] = {}
    extra: list[tuple[Any, str]] = []
    single = int((pruned["n"] == 1).sum())
    if single:
        warnings.append(f"{single} point{'s' if single != 1 else ''} rest on one seed (no error bar)")
    with _figure(options, nrows, ncols) as (fig, axes):
        for i, (ax, (dataset, model)) in enumerate(zip(axes.flat, panels)):
            part = pruned[(pruned["dataset"] == dataset) & (pruned["model"] == model)]
            position = _sparsity_ticks(ax, xs)
            for series, method, qualifier in _in_order(part, styles):
                line = part[part["series"] == series].sort_values("sparsity")
                handle = ax.errorbar(line["sparsity"].map(position), line["mean"], yerr=line["std"].fillna(0.0),
                                     label=series, **styles(method, qualifier))
                entries.setdefault(series, handle)
            whole = stats[(stats["dataset"] == dataset) & (stats["model"] == model) & _dense(stats)]
            dense = whole[whole["check"].isna() | (whole["check"] == "none")]
            if not dense.empty:
                mean = float((dense["mean"] * dense["n"]).sum() / dense["n"].sum())
                ref = ax.axhline(mean, color="#555555", linestyle=(0, (1, 1.5)), linewidth=1.0)
                if not extra:
                    extra.append((ref, "full network"))
            ax.set_title(panel_label(dataset, model))
            if i % ncols == 0:
                ax.set_ylabel(metric_label(metric))
            ax.grid(alpha=0.3)
        entries = {s: entries[s] for s, _, _ in _in_order(pruned, styles) if s in entries}
        return _finish(fig, axes, len(panels), options, entries, path, extra), warnings


# ---------------------------------------------------------------- any study: learning curves

def curves_sql(where: Where, phase: str | None = None) -> tuple[str, list[Any]]:
    """Per-epoch metrics of the runs matching `where`: each run's last phase (the one its result
    comes from), or `phase` when given, joined with the run's axes."""
    cond, params = _cond(where)
    if phase is None:
        pick = "SELECT key, arg_max(phase, rowid) AS phase FROM epochs GROUP BY key"
    else:
        pick = "SELECT DISTINCT key, phase FROM epochs WHERE phase = ?"
    sql = (f"WITH r AS (SELECT * FROM run_results WHERE {cond}), p AS ({pick}) "
           'SELECT e.key, e.phase, e.epoch, e.train_acc, e.test_acc, e.train_loss, e.test_loss, '
           'r.dataset, r.model, r.method, r."check", coalesce(r.variant, \'\') AS variant, '
           'round(coalesce(r.sparsity, 0), 6) AS sparsity, r.seed '
           "FROM epochs e JOIN p ON p.key = e.key AND p.phase = e.phase JOIN r ON r.key = e.key "
           'ORDER BY r.dataset, r.model, r.method, r."check", r.sparsity, r.seed, e.epoch')
    return sql, params + ([phase] if phase is not None else [])


def reliability_sql(where: Where) -> tuple[str, list[Any]]:
    """The calibration evaluations of the runs matching `where`: one per cell (dataset, model, method,
    check, variant, sparsity), of its lowest seed, with the evaluated run's axes; a site page shows
    their reliability diagrams (every run's own diagram stays in its run folder)."""
    cond, params = _cond(where)
    sql = (f"WITH r AS (SELECT * FROM run_results WHERE {cond}), "
           "e AS (SELECT DISTINCT key, run_key FROM evals WHERE eval = 'calibration') "
           'SELECT e.key AS eval_key, r.key, r.dataset, r.model, r.method, r."check", '
           "coalesce(r.variant, '') AS variant, round(coalesce(r.sparsity, 0), 6) AS sparsity, r.seed "
           "FROM e JOIN r ON r.key = e.run_key "
           'QUALIFY row_number() OVER (PARTITION BY r.dataset, r.model, r.method, r."check", '
           "coalesce(r.variant, ''), round(coalesce(r.sparsity, 0), 6) ORDER BY r.seed, e.key) = 1 "
           'ORDER BY r.dataset, r.model, r.method, r."check", variant, sparsity')
    return sql, params


def plot_curves(epochs: "pd.DataFrame", path: str | Path, *, options: FigureOptions | None = None,
                quantity: str = "acc", label: SeriesLabel = default_label, order: Sequence[str] = (),
                panel_label: Callable[[str, str], str] = lambda d, m: f"{m} on {d}") -> Drawn:
    """Learning curves: train and test `quantity` (acc or loss) per epoch, one panel pair per
    (dataset, model), one line per method/check/variant/sparsity averaged over seeds (band: ± std)."""
    path = check_output(path)
    options = options or FigureOptions()
    if epochs.empty:
        raise UserError("no per-epoch metrics for those runs (imported results carry none)")
    data = epochs.copy()
    styles = _series(data, label, order, with_sparsity=True)
    panels = _panels(data)
    entries: dict[str, Any] = {}
    warnings = []
    with _figure(options, len(panels), 2, aspect=0.7) as (fig, axes):
        for row, (dataset, model) in enumerate(panels):
            part = data[(data["dataset"] == dataset) & (data["model"] == model)]
            for col, split in enumerate(("train", "test")):
                ax = axes[row, col]
                column = f"{split}_{quantity}"
                if part[column].isna().all():
                    warnings.append(f"{panel_label(dataset, model)}: no {split} {quantity} recorded")
                for series, method, qualifier in _in_order(part, styles):
                    curve = (part[part["series"] == series].groupby("epoch")[column]
                             .agg(["mean", "std", "count"]).reset_index())
                    style = dict(styles(method, qualifier), markevery=max(1, len(curve) // 8))
                    (handle,) = ax.plot(curve["epoch"], curve["mean"], label=series, **style)
                    entries.setdefault(series, handle)
                    if (curve["count"] > 1).any():
                        std = curve["std"].fillna(0.0)
                        ax.fill_between(curve["epoch"], curve["mean"] - std, curve["mean"] + std,
                                        color=style["color"], alpha=0.15, linewidth=0)
                ax.set_title(f"{panel_label(dataset, model)}: {split}")
                ax.set_xlabel("epoch")
                ax.set_ylabel(f"{split} {'accuracy (%)' if quantity == 'acc' else 'loss'}")
                ax.grid(alpha=0.3)
                ax.xaxis.get_major_locator().set_params(integer=True)
        entries = {s: entries[s] for s, _, _ in _in_order(data, styles) if s in entries}
        return _finish(fig, axes, 2 * len(panels), options, entries, path), warnings


# ---------------------------------------------------------------- any study: size vs accuracy

SIZE_COLUMNS = {"params": "parameters (nonzero)", "flops": "FLOPs (conv/linear MACs)"}


def size_sql(where: Where, size: str, metric: str = "test_acc") -> tuple[str, list[Any]]:
    cond, params = _cond(where)
    sql = (f'SELECT dataset, model, method, "check", coalesce(variant, \'\') AS variant, '
           f'round(coalesce(sparsity, 0), 6) AS sparsity, count(*) AS n, avg("{size}") AS size, '
           f'avg("{metric}") AS mean, stddev_samp("{metric}") AS std FROM run_results WHERE {cond} '
           f"AND status IS DISTINCT FROM 'failed' AND \"{metric}\" IS NOT NULL AND \"{size}\" IS NOT NULL "
           f'GROUP BY ALL ORDER BY dataset, model, method, "check", variant, sparsity')
    return sql, params


def size_columns_missing(columns: Sequence[str], size: str) -> str | None:
    """Why the store cannot give `size` (None when it can)."""
    if size not in SIZE_COLUMNS:
        return f"unknown size measure {size!r}; known: {', '.join(SIZE_COLUMNS)}"
    if size not in columns:
        return (f"this store records no {size!r} column: it was made by a version of tickets that did "
                f"not count {SIZE_COLUMNS[size]}; runs made since then carry it")
    return None


def plot_size(stats: "pd.DataFrame", path: str | Path, *, size: str, options: FigureOptions | None = None,
              metric: str = "test_acc", label: SeriesLabel = default_label, order: Sequence[str] = (),
              panel_label: Callable[[str, str], str] = lambda d, m: f"{m} on {d}") -> Drawn:
    """Accuracy against remaining parameters or FLOPs (log axis), one panel per (dataset, model),
    one line per method through its sparsities, mean ± std over seeds; the dense network a star."""
    path = check_output(path)
    options = options or FigureOptions()
    if stats.empty:
        raise UserError(f"no finished runs matching those filters record {size!r} "
                        f"(imported results and runs from before {size} was counted have none)")
    stats = stats.copy()
    styles = _series(stats, label, order)
    panels = _panels(stats)
    ncols = options.columns(len(panels))
    nrows = math.ceil(len(panels) / ncols)
    entries: dict[str, Any] = {}
    with _figure(options, nrows, ncols) as (fig, axes):
        for i, (ax, (dataset, model)) in enumerate(zip(axes.flat, panels)):
            part = stats[(stats["dataset"] == dataset) & (stats["model"] == model)]
            for series, method, qualifier in _in_order(part, styles):
                line = part[part["series"] == series].sort_values("size")
                style = styles(method, qualifier)
                if _dense(line).all():
                    style = dict(style, marker="*", markersize=9, linestyle="none")
                handle = ax.errorbar(line["size"], line["mean"], yerr=line["std"].fillna(0.0), label=series,
                                     **style)
                entries.setdefault(series, handle)
            ax.set_xscale("log")
            from matplotlib.ticker import NullFormatter

            ax.xaxis.set_minor_formatter(NullFormatter())
            ax.set_title(panel_label(dataset, model))
            ax.set_xlabel(SIZE_COLUMNS[size])
            if i % ncols == 0:
                ax.set_ylabel(metric_label(metric))
            ax.grid(alpha=0.3, which="both")
        entries = {s: entries[s] for s, _, _ in _in_order(stats, styles) if s in entries}
        return _finish(fig, axes, len(panels), options, entries, path), []
