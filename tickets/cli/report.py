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
@click.option("--metric", default=None, help="test_acc (final epoch), best_test_acc (best epoch on the test "
              "set: what the paper printed, the paper tables' default) or val_selected_test_acc (test "
              "accuracy at the best epoch on a held-out split; runs trained with val_split).")
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
    """`keep-ratios`, plus one command per report that declares a figure (e.g. figure3)."""

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


def _report_figure_command(name: str) -> click.Command:
    @click.command(name=name, help=f"Draw the figure of report {name!r} (suffix .png, .pdf or .svg).")
    @click.option("-o", "--output", required=True, type=click.Path(dir_okay=False))
    @click.option("--metric", default=None, help="test_acc, best_test_acc or val_selected_test_acc.")
    @click.pass_context
    def draw(ctx, output, metric):
        from registry.report.aggregate import stats_from_query
        from registry.report.figures import check_output, plot_report
        from registry.report.loader import load_report

        check_output(output)
        check_writable(output)
        declared, _ = load_report(reports_dir(), name)
        stats = stats_from_query(declared, _query(_home(ctx)), metric)
        click.echo(f"wrote {plot_report(declared, stats, output, metric)}", err=True)

    return draw


@click.group(cls=FigureGroup)
def figure():
    """Draw figures: a report's figure (figure3) or per-layer keep ratios of any runs."""


@figure.command("keep-ratios")
@click.option("--key", "keys", multiple=True, help="A run key (or its prefix); repeatable.")
@click.option("--dataset", multiple=True)
@click.option("--model", multiple=True)
@click.option("--method", multiple=True)
@click.option("--check", "check_", multiple=True)
@click.option("--sparsity", multiple=True, type=float)
@click.option("--seed", multiple=True, type=int)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Figure file (.png, .pdf or .svg).")
@click.option("--log", "log_scale", is_flag=True, help="Logarithmic keep-ratio axis (for very sparse layers).")
@click.pass_context
def keep_ratios(ctx, keys, dataset, model, method, check_, sparsity, seed, output, log_scale):
    """Per-layer keep ratios of runs chosen by key and/or filters."""
    from registry.report.figures import check_output, keep_ratio_sql, plot_keep_ratios

    check_output(output)
    check_writable(output)
    where = {k: list(v) for k, v in dict(dataset=dataset, model=model, method=method, check=check_,
                                         sparsity=sparsity, seed=seed).items() if v}
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
    click.echo(f"wrote {plot_keep_ratios(layers, output, log_scale=log_scale)}", err=True)
