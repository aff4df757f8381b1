"""`tickets report NAME` renders a declared report; `tickets figure ...` draws figures.

Declarations live in the repository's `reports/` folder (env TICKETS_REPORTS points elsewhere).
Heavy imports (pandas, duckdb, jinja2, matplotlib) happen inside the commands."""
from __future__ import annotations

import os
from pathlib import Path

import click

from registry.atomic import check_writable
from registry.errors import UserError

FORMAT_NAMES = ("text", "latex", "markdown", "html", "csv")


def reports_dir() -> Path:
    env = os.environ.get("TICKETS_REPORTS")
    if env:
        return Path(env)
    import tickets

    return Path(tickets.__file__).resolve().parents[1] / "reports"


def _home(ctx: click.Context) -> str:
    obj = ctx.find_root().obj or {}
    return obj.get("home") or os.path.abspath(os.environ.get("TICKETS_HOME", ".tickets"))


def _query(home: str):
    from registry.store import Store

    return Store(home).frame


def _list_reports() -> str:
    from registry.report.loader import load_all

    lines = [f"  {r.name:<12} {r.title}" for r, _ in load_all(reports_dir())]
    return "reports:\n" + "\n".join(lines)


@click.command()
@click.argument("name", required=False)
@click.option("--format", "fmt", default=None,
              help="text (default on a terminal), latex, markdown, html or csv; with -o, taken from the "
                   "file's suffix (.tex .md .html .csv) unless given.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to this file instead of stdout.")
@click.option("--metric", default=None, help="test_acc (final epoch, default) or best_test_acc.")
@click.option("--interval", default=None, help="Bolding interval: std (the paper's), sem or t95.")
@click.option("--compare", default=None, help="'paper': show the paper's value and the difference per cell.")
@click.option("--strict", is_flag=True, help="Fail (exit 2) when a declared cell has no runs or pools "
                                             "different configurations.")
@click.pass_context
def report(ctx, name, fmt, output, metric, interval, compare, strict):
    """Render report NAME (table1..table4, figure3, quickstart) from the store; no NAME lists them."""
    from registry.report import make_table, missing_message
    from registry.report.aggregate import METRICS
    from registry.report.intervals import INTERVALS
    from registry.report.loader import load_report
    from registry.report.render import FORMATS, render, rich_table

    if name is None:
        click.echo(_list_reports())
        return
    if fmt is None:
        suffix = Path(output).suffix.lower() if output else ""
        fmt = {".tex": "latex", ".md": "markdown", ".html": "html", ".htm": "html", ".csv": "csv"}.get(suffix, "text")
    if fmt not in FORMATS:
        raise UserError(f"unknown format {fmt!r}; known: {', '.join(FORMATS.names())}")
    if metric is not None and metric not in METRICS:
        raise UserError(f"unknown metric {metric!r}; known: {', '.join(METRICS)}")
    if interval is not None:
        INTERVALS.get(interval)
    if compare is not None and compare != "paper":
        raise UserError(f"unknown comparison {compare!r}; known: paper")
    path = check_writable(output) if output else None
    declared, folder = load_report(reports_dir(), name)
    table = make_table(declared, query=_query(_home(ctx)), metric=metric, interval=interval,
                       compare=compare, folder=folder)
    if table.missing:
        message = missing_message(declared, table.missing)
        if strict:
            raise UserError(message)
        click.echo(f"warning: {message}", err=True)
    if table.mixed:
        more = f" and {len(table.mixed) - 3} more" if len(table.mixed) > 3 else ""
        message = (f"report {declared.name!r}: {len(table.mixed)} cells average runs that differ in more than "
                   f"the seed ({'; '.join(table.mixed[:3])}{more}); they are marked *")
        if strict:
            raise UserError(message)
        click.echo(f"warning: {message}", err=True)
    if path is None and fmt == "text":
        from rich.console import Console

        console = Console()
        if console.is_terminal:
            console.print(rich_table(table))
            return
    text = render(table, fmt)
    if path is None:
        click.echo(text, nl=not text.endswith("\n"))
        return
    from registry.atomic import write_bytes

    try:
        write_bytes(path, text.encode())
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
    click.echo(f"wrote {path}", err=True)


# ---------------------------------------------------------------- figures

def _figure_reports() -> list[str]:
    from registry.report.loader import load_all

    return [r.name for r, _ in load_all(reports_dir()) if r.figure is not None]


class FigureGroup(click.Group):
    """The generic figures, plus one command per report that declares a figure (e.g. figure3)."""

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(_figure_reports()))

    def get_command(self, ctx, name):
        command = super().get_command(ctx, name)
        if command is not None:
            return command
        if name in _figure_reports():
            return _report_figure_command(name)
        return None

    def resolve_command(self, ctx, args):
        name = args[0] if args else None
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            raise UserError(f"unknown figure {name!r}; known: {', '.join(self.list_commands(ctx))}")
        return super().resolve_command(ctx, args)


def _print_options(f):
    """--size and --title, shared by every figure."""
    f = click.option("--title", default=None,
                     help="Title above the figure (none by default: a paper's caption carries it).")(f)
    f = click.option("--size", default=None,
                     help="Print width: 'column' (3.3 in), 'page' (6.9 in, default), a width in inches "
                          "(3.5) or WIDTHxHEIGHT in inches (7x3). Text is 8 pt at that size.")(f)
    return click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
                        help="Figure file (.png, .pdf or .svg; PDF fonts are embedded as Type 42).")(f)


def _figure_options(size, title):
    from registry.report.style import FigureOptions, parse_size

    width, height = parse_size(size)
    return FigureOptions(width=width, height=height, title=title)


def _filter_options(f):
    """Run filters shared by the generic figures (each repeatable)."""
    for name, kind in reversed((("dataset", str), ("model", str), ("method", str), ("check", str),
                                ("sparsity", float), ("seed", int), ("variant", str))):
        f = click.option(f"--{name}", f"{name}_", multiple=True, type=kind,
                         help=f"Only runs with this {name} (repeatable).")(f)
    return f


def _where(**given) -> dict:
    return {k.rstrip("_"): list(v) for k, v in given.items() if v}


def _labels():
    from tickets.labels import method_order, panel_label, series_label

    return dict(label=series_label, order=method_order())


def _checked_output(output):
    from registry.report.figures import check_output

    check_output(output)
    check_writable(output)
    return output


def _drawn(result) -> None:
    path, warnings = result
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"wrote {path}", err=True)


def _report_figure_command(name: str) -> click.Command:
    @click.command(name=name, help=f"Draw the figure of report {name!r} (suffix .png, .pdf or .svg).")
    @_print_options
    @click.option("--metric", default=None, help="test_acc (default) or best_test_acc.")
    @click.pass_context
    def draw(ctx, output, size, title, metric):
        from registry.report import make_table, missing_message
        from registry.report.aggregate import stats_from_query
        from registry.report.figures import plot_report
        from registry.report.loader import load_report

        _checked_output(output)
        options = _figure_options(size, title)
        declared, _ = load_report(reports_dir(), name)
        query = _query(_home(ctx))
        stats = stats_from_query(declared, query, metric)
        if not stats.empty:  # the same warning as `tickets report NAME`: which cells have no runs
            table = make_table(declared, query=query, metric=metric)
            if table.missing:
                click.echo(f"warning: {missing_message(declared, table.missing)}", err=True)
        _drawn(plot_report(declared, stats, output, options))

    return draw


@click.group(cls=FigureGroup)
def figure():
    """Draw figures: a report's figure (figure3), or for any runs: accuracy against sparsity,
    learning curves, model size against accuracy, per-layer keep ratios."""


@figure.command("keep-ratios")
@click.option("--key", "keys", multiple=True, help="A run key (or its prefix); repeatable.")
@_filter_options
@_print_options
@click.option("--log", "log_scale", is_flag=True, help="Logarithmic keep-ratio axis (for very sparse layers); "
                                                       "collapsed layers are marked x at its floor.")
@click.pass_context
def keep_ratios(ctx, keys, dataset_, model_, method_, check_, sparsity_, seed_, variant_, output, size, title,
                log_scale):
    """Per-layer keep ratios of runs chosen by key and/or filters, averaged over seeds."""
    from registry.report.figures import keep_ratio_sql, plot_keep_ratios

    _checked_output(output)
    options = _figure_options(size, title)
    where = _where(dataset_=dataset_, model_=model_, method_=method_, check_=check_, sparsity_=sparsity_,
                   seed_=seed_, variant_=variant_)
    if not keys and not where:
        raise UserError("choose runs with --key KEY (repeatable) or filters such as --method snip --sparsity 0.9")
    sql, params = keep_ratio_sql(keys, where)
    query = _query(_home(ctx))
    layers = query(sql, params or None)
    if layers.empty:
        count_sql, count_params = keep_ratio_sql(keys, where, count_runs=True)
        runs = int(query(count_sql, count_params or None)["n"][0])
        if runs == 0:
            raise UserError("no runs match those keys and filters (see `tickets runs ls`)")
        raise UserError(f"{runs} run{'s match' if runs != 1 else ' matches'}, but "
                        f"{'they carry' if runs != 1 else 'it carries'} no per-layer keep ratios "
                        f"(dense runs and results imported from CSV/Parquet have none)")
    labels = _labels()
    _drawn(plot_keep_ratios(layers, output, options=options, log_scale=log_scale, label=labels["label"],
                            order=labels["order"]))


@figure.command("accuracy")
@_filter_options
@_print_options
@click.option("--metric", default="test_acc", show_default=True, help="test_acc or best_test_acc.")
@click.pass_context
def accuracy(ctx, dataset_, model_, method_, check_, sparsity_, seed_, variant_, output, size, title, metric):
    """Accuracy against sparsity per method (mean ± std over seeds), one panel per dataset and
    network, for any runs in the store."""
    from registry.report.aggregate import METRICS
    from registry.report.figures import accuracy_sql, plot_accuracy
    from tickets.labels import panel_label

    _checked_output(output)
    if metric not in METRICS:
        raise UserError(f"unknown metric {metric!r}; known: {', '.join(METRICS)}")
    options = _figure_options(size, title)
    sql, params = accuracy_sql(_where(dataset_=dataset_, model_=model_, method_=method_, check_=check_,
                                      sparsity_=sparsity_, seed_=seed_, variant_=variant_), metric)
    stats = _query(_home(ctx))(sql, params or None)
    _drawn(plot_accuracy(stats, output, options=options, metric=metric, panel_label=panel_label, **_labels()))


@figure.command("curves")
@_filter_options
@_print_options
@click.option("--phase", default=None, help="Training phase to draw (default: each run's last, the one its "
                                            "result comes from; e.g. pretrain).")
@click.option("--loss", is_flag=True, help="Loss instead of accuracy.")
@click.pass_context
def curves(ctx, dataset_, model_, method_, check_, sparsity_, seed_, variant_, output, size, title, phase, loss):
    """Learning curves: per-epoch train and test accuracy (or loss), averaged over seeds."""
    from registry.report.figures import curves_sql, plot_curves

    _checked_output(output)
    options = _figure_options(size, title)
    where = _where(dataset_=dataset_, model_=model_, method_=method_, check_=check_, sparsity_=sparsity_,
                   seed_=seed_, variant_=variant_)
    sql, params = curves_sql(where, phase)
    epochs = _query(_home(ctx))(sql, params or None)
    from tickets.labels import panel_label

    _drawn(plot_curves(epochs, output, options=options, quantity="loss" if loss else "acc",
                       panel_label=panel_label, **_labels()))


@figure.command("size")
@_filter_options
@_print_options
@click.option("--by", "measure", type=click.Choice(["params", "flops"]), default="params", show_default=True,
              help="Remaining parameters or FLOPs on the x axis.")
@click.option("--metric", default="test_acc", show_default=True, help="test_acc or best_test_acc.")
@click.pass_context
def size_figure(ctx, dataset_, model_, method_, check_, sparsity_, seed_, variant_, output, size, title,
                measure, metric):
    """Accuracy against remaining parameters or FLOPs (log axis), where the store records them."""
    from registry.report.aggregate import METRICS
    from registry.report.figures import plot_size, size_columns_missing, size_sql
    from tickets.labels import panel_label

    _checked_output(output)
    if metric not in METRICS:
        raise UserError(f"unknown metric {metric!r}; known: {', '.join(METRICS)}")
    options = _figure_options(size, title)
    query = _query(_home(ctx))
    why = size_columns_missing(list(query("SELECT * FROM run_results LIMIT 0", None).columns), measure)
    if why:
        raise UserError(why)
    sql, params = size_sql(_where(dataset_=dataset_, model_=model_, method_=method_, check_=check_,
                                  sparsity_=sparsity_, seed_=seed_, variant_=variant_), measure, metric)
    stats = query(sql, params or None)
    _drawn(plot_size(stats, output, size=measure, options=options, metric=metric, panel_label=panel_label,
                     **_labels()))
