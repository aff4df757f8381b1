"""`tickets report NAME` renders a declared report; `tickets figure ...` draws figures.

Declarations live in the built-in `reports/` folder (the checkout's, or the installed copy under
`<prefix>/share/tickets/reports`); env TICKETS_REPORTS adds folders of one's own (os.pathsep-separated,
searched first).
Heavy imports (pandas, duckdb, jinja2, matplotlib) happen inside the commands."""
from __future__ import annotations

import os
from pathlib import Path

import click

from registry.atomic import check_writable
from registry.errors import UserError

FORMAT_NAMES = ("text", "latex", "markdown", "html", "csv")


def reports_dir() -> Path:
    """The built-in reports folder."""
    from registry.resources import shared_dir

    return shared_dir("reports")


def report_folders() -> list[Path]:
    """TICKETS_REPORTS folders (searched first, so one's own report may shadow a built-in), then the
    built-in folder."""
    own = [Path(p).expanduser() for p in os.environ.get("TICKETS_REPORTS", "").split(os.pathsep) if p.strip()]
    for folder in own:
        if not folder.is_dir():
            raise UserError(f"TICKETS_REPORTS names {folder}, which is not a folder")
    return [*own, reports_dir()]


def _home(ctx: click.Context) -> str:
    obj = ctx.find_root().obj or {}
    return obj.get("home") or os.path.abspath(os.environ.get("TICKETS_HOME", ".tickets"))


def _query(home: str):
    from registry.store import Store

    return Store(home).frame


def _rows_query(home: str):
    """Like `_query`, returning `registry.store.Rows`: a table needs no pandas (~0.5 s to import)."""
    from registry.store import Store

    store = Store(home)
    return lambda sql, params=None: store.frame(sql, params, rows=True)


def _store_here(home: str) -> None:
    """An empty report from a missing store is a wrong home far more often than no runs: say where."""
    from registry.store import Store

    store = Store(home)
    if not store.exists():
        raise UserError(f"no store at {store.path}: run a study first, or point --home / TICKETS_HOME at the "
                        f"folder holding store.duckdb (the default is .tickets in the working folder)")


def _list_reports() -> str:
    from registry.report.loader import load_all_in

    lines = [f"  {r.name:<12} {r.title}" for r, _ in load_all_in(report_folders())]
    return "reports:\n" + "\n".join(lines)


LATEX_FONTS = ("normalsize", "small", "footnotesize", "scriptsize", "tiny")  # registry.report.render's


@click.command()
@click.argument("name", required=False)
@click.option("--all", "all_", is_flag=True,
              help="Every report into folder -o DIR, one file each; with --format html also each report's "
                   "figure and an index.html linking them.")
@click.option("--format", "fmt", default=None,
              help="text (default on a terminal), latex, markdown, html or csv; with -o, taken from the "
                   "file's suffix (.tex .md .html .csv .txt) unless given; other suffixes are refused.")
@click.option("-o", "--output", type=click.Path(), help="Write to this file (a folder with --all) instead of stdout.")
@click.option("--metric", default=None, help="test_acc (final epoch), best_test_acc (best epoch on the test set: what the paper printed, "
                                             "the paper tables' default), val_selected_test_acc (test accuracy at the best epoch on a held-out "
                                             "split; runs trained with val_split), params, flops, params_reduction or flops_reduction; "
                                             "with --eval, a metric of that evaluation (ece, auroc, adv_acc, ...).")
@click.option("--eval", "eval_", default=None, help="Show an evaluation's metric instead of test accuracy, "
                                                     "e.g. --eval calibration --metric ece (see the evals table).")
@click.option("--interval", default=None, help="Bolding interval: std (the paper's), sem or t95.")
@click.option("--compare", default=None, help="'paper': show the paper's value and the difference per cell.")
@click.option("--strict", is_flag=True, help="Fail (exit 2) when a declared cell has no runs or pools "
                                             "different configurations.")
@click.option("--font-size", type=click.Choice(LATEX_FONTS), default="small", show_default=True,
              help="LaTeX: font size of the table.")
@click.option("--fit/--no-fit", default=True, show_default=True,
              help="LaTeX: shrink the table to the line width when it is wider (\\resizebox; needs graphicx).")
@click.option("--wide", is_flag=True, help="LaTeX: a table* float spanning both columns of a two-column paper.")
@click.option("--split", is_flag=True, help="LaTeX: one tabular per outer column value (e.g. per dataset), "
                                            "stacked: half the width, for --compare in particular.")
@click.option("--study", "study_name", default=None, metavar="NAME",
              help="Only runs that study NAME asked for (see `tickets runs ls --study`).")
@click.pass_context
def report(ctx, name, all_, fmt, output, metric, interval, compare, strict, font_size, fit, wide, split,
           study_name=None, eval_=None):
    """Render report NAME (table1..table4, figure3, quickstart) from the store; no NAME lists them."""
    from registry.report.aggregate import METRICS
    from registry.report.intervals import INTERVALS
    from registry.report.render import FORMATS, LatexLayout

    if name is None and not all_:
        click.echo(_list_reports())
        return
    if name is not None and all_:
        raise UserError("give a report NAME or --all, not both")
    if output and not all_:  # the file name says what it holds: a .pdf or .docx of plain text would be a lie
        by_suffix = {FORMATS.meta(n)["suffix"]: n for n in FORMATS.names() if "suffix" in FORMATS.meta(n)}
        by_suffix[".htm"] = "html"
        suffix = Path(output).suffix.lower()
        if suffix not in by_suffix:
            raise UserError(f"cannot write a report to {output}: {f'{suffix!r} is not a report format' if suffix else 'no suffix'}; "
                            f"use a file name ending in {', '.join(sorted(by_suffix))}"
                            f"{' (figures: tickets figure)' if suffix in ('.pdf', '.png', '.svg') else ''}")
        fmt = fmt or by_suffix[suffix]
    if fmt is None:
        fmt = "text"
    if fmt not in FORMATS:
        raise UserError(f"unknown format {fmt!r}; known: {', '.join(FORMATS.names())}")
    if metric is not None and metric not in METRICS and eval_ is None:
        raise UserError(f"unknown metric {metric!r}; known: {', '.join(METRICS)} (or an evaluation's metric with --eval)")
    if eval_ is not None and metric is None:
        raise UserError(f"--eval {eval_} needs --metric: which of its metrics to show (e.g. ece, auroc, adv_acc)")
    if interval is not None:
        INTERVALS.get(interval)
    if compare is not None and compare != "paper":
        raise UserError(f"unknown comparison {compare!r}; known: paper")
    options = {"layout": LatexLayout(font=font_size, fit=fit, wide=wide, split=split)} if fmt == "latex" else {}
    if all_:
        if not output:
            raise UserError("--all writes one file per report: give the folder with -o DIR")
        _report_all(ctx, Path(output), fmt, metric, interval, compare, strict, options, study_name)
        return
    path = check_writable(output) if output else None
    table = _table(ctx, name, metric, interval, compare, strict, study_name=study_name, eval_=eval_)
    if path is None and fmt == "text":
        from rich.console import Console

        console = Console()
        if console.is_terminal:
            from registry.report.render import print_table

            print_table(table, console)
            return
    from registry.report.render import render

    text = render(table, fmt, **options)
    if path is None:
        click.echo(text, nl=not text.endswith("\n"))
        return
    _write(path, text)
    click.echo(f"wrote {path}", err=True)


def _table(ctx, name, metric, interval, compare, strict, warn=True, study_name=None, eval_=None,
           imported_only=False):
    """Report NAME laid out from the store; missing and pooled cells warned about (or refused).
    `imported_only`: only results imported from elsewhere (a site page for a report whose study
    never ran here)."""
    from registry.report import make_table, missing_message
    from registry.report.loader import find_report

    declared, folder = find_report(report_folders(), name)
    if study_name or imported_only:
        import dataclasses

        extra = {"study": study_name} if study_name else {"source": "imported"}
        declared = dataclasses.replace(declared, filters={**declared.filters, **extra})
    if eval_ is not None:
        from dataclasses import replace

        from tickets.evals.metrics import LOWER_IS_BETTER

        title = declared.title.split(": ")[0]  # "...: test accuracy" names what is shown
        declared = replace(declared, eval=eval_, metric=metric, paper=None, title=f"{title}: {eval_} {metric}",
                           lower_is_better=metric in LOWER_IS_BETTER)
    elif declared.eval is not None and metric is not None:
        declared = replace_metric(declared, metric)
    _store_here(_home(ctx))
    try:
        table = make_table(declared, query=_rows_query(_home(ctx)), metric=metric, interval=interval,
                           compare=compare, folder=folder)
    except UserError as exc:  # "no runs in the store": name the store, a wrong home looks the same
        from registry.store import Store

        raise UserError(str(exc).replace("in the store", f"in the store {Store(_home(ctx)).path}", 1)) from None
    # pooled configurations first: a wrong average is worse than a missing one
    if table.mixed:
        more = f" and {len(table.mixed) - 3} more" if len(table.mixed) > 3 else ""
        message = (f"report {declared.name!r}: {len(table.mixed)} cells average runs that differ in more than "
                   f"the seed ({'; '.join(table.mixed[:3])}{more}); they are marked *")
        if strict:
            raise UserError(message)
        if warn:
            click.echo(f"warning: {message}", err=True)
    if table.missing:
        message = missing_message(declared, table.missing)
        if strict:
            raise UserError(message)
        if warn:
            click.echo(f"warning: {message}", err=True)
    return table


def _write(path: Path, text: str) -> None:
    from registry.atomic import write_bytes

    try:
        write_bytes(path, text.encode())
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None


def _report_all(ctx, folder: Path, fmt, metric, interval, compare, strict, options, study_name=None) -> None:
    """Every declared report into `folder`: NAME.<suffix> each; for HTML also NAME.svg for a report
    with a figure and index.html. A report without runs is skipped (and named in the index)."""
    from registry.report.loader import load_all_in
    from registry.report.render import FORMATS, render, render_index

    if folder.exists() and not folder.is_dir():
        raise UserError(f"cannot write into {folder}: it is a file, not a folder")
    if not folder.parent.is_dir():
        raise UserError(f"cannot write {folder}: folder {folder.parent} does not exist")
    folder.mkdir(exist_ok=True)
    suffix = FORMATS.meta(fmt).get("suffix", f".{fmt}")
    pages = []
    for declared, _ in load_all_in(report_folders()):
        page = {"name": declared.name, "title": declared.title, "file": None, "figure": None, "warning": ""}
        pages.append(page)
        # a site page shows its own study's runs (study membership), never other studies' runs that
        # happen to match its filters (a quickstart page pooling a Rethinking home's dense trainings)
        own = study_name or (_study_name(declared) if fmt == "html" else None)
        try:
            try:
                table = _table(ctx, declared.name, metric, interval, compare, strict, warn=False, study_name=own)
            except UserError:
                if not own or study_name:
                    raise
                # no run of its study here: results imported from elsewhere (they name no study) still
                # make its page, never another study's runs
                table = _table(ctx, declared.name, metric, interval, compare, strict, warn=False,
                               imported_only=True)
                own = None
        except UserError as exc:
            page["warning"] = str(exc).split(": ", 1)[-1]
            click.echo(f"skipped {declared.name}: {exc}", err=True)
            continue
        if table.missing:
            page["warning"] = f"{len(table.missing)} cells have no runs"
        figures = []
        if fmt == "html" and declared.figure is not None:
            import dataclasses

            drawn = dataclasses.replace(declared, filters={**declared.filters, "study": own}) if own else declared
            figure = _report_figure(ctx, drawn, metric, folder / f"{declared.name}.svg")
            if figure:
                page["figure"] = figure
                figures.append(figure)
        extra = options
        if fmt == "html":
            curves = _page_curves(ctx, declared, own, folder / f"{declared.name}-curves.svg")
            if curves:
                figures.append(curves)
            reliability = _page_reliability(ctx, declared, table, own, folder / f"{declared.name}-reliability")
            _write(folder / f"{declared.name}.csv", render(table, "csv"))
            extra = dict(options, figures=figures, index="index.html",
                         site=dict(_provenance(ctx, table, own, csv=f"{declared.name}.csv"), reliability=reliability))
        page["file"] = f"{declared.name}{suffix}"
        _write(folder / page["file"], render(table, fmt, **extra))
        click.echo(f"wrote {folder / page['file']}", err=True)
    if fmt == "html":
        _write(folder / "index.html", render_index("tickets reports", _home(ctx), pages))
        click.echo(f"wrote {folder / 'index.html'}", err=True)


def _page_curves(ctx, declared, study: str | None, path: Path) -> str | None:
    """The learning curves of a site page's runs (its own study's, within its filters), or None."""
    from registry.report.figures import curves_sql, plot_curves
    from tickets.labels import method_order, panel_label, series_label

    sql, params = curves_sql(_page_where(declared, study))
    try:
        epochs = _query(_home(ctx))(sql, params or None)
        if epochs.empty:
            return None
        drawn, _ = plot_curves(epochs, path, label=series_label, order=method_order(), panel_label=panel_label)
    except UserError as exc:
        click.echo(f"no learning curves for {declared.name}: {exc}", err=True)
        return None
    return drawn.name


def _page_where(declared, study: str | None) -> dict:
    """The runs a site page draws from: its report's filters (not its spec fields) and its study."""
    where = {k: v for k, v in declared.filters.items() if not k.startswith("spec.")}
    if study:
        where["study"] = study
    return where


SITE_RELIABILITY_MAX = 24  # diagrams on one page; beyond that a line says where the rest are


def _page_reliability(ctx, declared, table, study: str | None, folder: Path) -> list[str]:
    """The reliability diagrams of a site page's calibrated runs (one per cell, its lowest seed),
    copied beside the page into `folder` so the site stays self-contained; [] when it has none."""
    import shutil

    from registry.report.figures import reliability_sql
    from registry.runcheck import safe_rundir
    from registry.store import Store

    sql, params = reliability_sql(_page_where(declared, study))
    try:
        found = _query(_home(ctx))(sql, params or None)
    except UserError as exc:
        click.echo(f"no reliability diagrams for {declared.name}: {exc}", err=True)
        return []
    # in the table's row order (its rows' method and check), then by sparsity
    rank: dict[tuple[str, str], int] = {}
    for row in (r for section in table.sections for r in section.rows):
        rank.setdefault((str(row.where.get("method")), str(row.where.get("check", "none"))), len(rank))
    found = found.assign(_rank=[rank.get((str(m), str(c)), len(rank)) for m, c in zip(found["method"], found["check"])])
    found = found.sort_values(["dataset", "model", "_rank", "variant", "sparsity"], kind="stable")
    store, drawn = Store(_home(ctx)), []
    for key in list(found["eval_key"])[:SITE_RELIABILITY_MAX]:
        rundir = safe_rundir(store.runs_dir, key)  # a stored key never builds a path outside runs/
        source = rundir / "reliability.png" if rundir else None
        if source is None or not source.is_file():
            continue  # an imported evaluation carries no diagram
        folder.mkdir(exist_ok=True)
        shutil.copyfile(source, folder / f"{key}.png")
        drawn.append(f"{folder.name}/{key}.png")
    if len(found) > SITE_RELIABILITY_MAX:
        click.echo(f"{declared.name}: showing {SITE_RELIABILITY_MAX} of {len(found)} reliability diagrams; "
                   f"the others are reliability.png in each evaluation's run folder", err=True)
    return drawn


def _study_name(declared) -> str | None:
    """The name of the study a report declares (`study=`), None where it names none or cannot load."""
    if not declared.study:
        return None
    from tickets.study import load_study

    try:
        return load_study(declared.study).name
    except UserError:
        return None


def _provenance(ctx, table, study: str | None, csv: str) -> dict:
    """What a site page says about itself: when it was made, from how many runs (per cell), with
    which code versions, and its CSV."""
    from datetime import datetime, timezone

    from registry.store import Store

    counts = [c.n for section in table.sections for row in section.rows for c in row.cells
              if not c.blank and not c.missing]
    versions = []
    if study:
        rows = Store(_home(ctx)).frame("SELECT DISTINCT code_version FROM runs WHERE code_version IS NOT NULL AND "
                                       "list_contains(string_split(coalesce(studies, ''), ','), ?) ORDER BY 1",
                                       [study], rows=True)
        versions = [r[0] for r in rows.rows]
    spread = f"{min(counts)}" if counts and min(counts) == max(counts) else \
        (f"{min(counts)}–{max(counts)}" if counts else "0")
    return {"made": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "runs": sum(counts),
            "per_cell": spread, "code_versions": versions, "csv": csv}


def _report_figure(ctx, declared, metric, path: Path) -> str | None:
    """Draw a report's figure for a site; None (with the reason on stderr) when there is nothing."""
    from registry.report.aggregate import stats_from_query
    from registry.report.figures import plot_report

    stats = stats_from_query(declared, _query(_home(ctx)), metric)
    try:
        drawn, _ = plot_report(declared, stats, path)
    except UserError as exc:
        click.echo(f"no figure for {declared.name}: {exc}", err=True)
        return None
    return drawn.name


def replace_metric(declared, metric):
    """Another metric of the report's own evaluation (e.g. a calibration report showing nll)."""
    from dataclasses import replace

    from tickets.evals.metrics import LOWER_IS_BETTER

    return replace(declared, metric=metric, lower_is_better=metric in LOWER_IS_BETTER)


# ---------------------------------------------------------------- figures

def _figure_reports() -> list[str]:
    from registry.report.loader import load_all_in

    return [r.name for r, _ in load_all_in(report_folders()) if r.figure is not None]


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


def _check_names(where: dict, ctx) -> None:
    """A misspelt --method/--check/--model/--dataset: "unknown method 'snipp' (did you mean 'snip'?)"."""
    from tickets.cli.names import check_names

    check_names(where, _rows_query(_home(ctx)))


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
    @click.option("--metric", default=None, help="test_acc, best_test_acc or val_selected_test_acc (default: the report's own metric).")
    @click.pass_context
    def draw(ctx, output, size, title, metric):
        from registry.report import make_table, missing_message
        from registry.report.aggregate import stats_from_query
        from registry.report.figures import plot_report
        from registry.report.loader import find_report

        _checked_output(output)
        options = _figure_options(size, title)
        declared, _ = find_report(report_folders(), name)
        query = _query(_home(ctx))
        stats = stats_from_query(declared, query, metric)
        if not stats.empty:  # the same warning as `tickets report NAME`: which cells have no runs
            table = make_table(declared, query=query, metric=metric)
            if table.missing:
                click.echo(f"warning: {missing_message(declared, table.missing)}", err=True)
        _drawn(plot_report(declared, stats, output, options, metric=metric))

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
    _check_names(where, ctx)
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
    where = _where(dataset_=dataset_, model_=model_, method_=method_, check_=check_, sparsity_=sparsity_,
                   seed_=seed_, variant_=variant_)
    _check_names(where, ctx)
    sql, params = accuracy_sql(where, metric)
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
    _check_names(where, ctx)
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
    where = _where(dataset_=dataset_, model_=model_, method_=method_, check_=check_, sparsity_=sparsity_,
                   seed_=seed_, variant_=variant_)
    _check_names(where, ctx)
    sql, params = size_sql(where, measure, metric)
    stats = query(sql, params or None)
    _drawn(plot_size(stats, output, size=measure, options=options, metric=metric, panel_label=panel_label,
                     **_labels()))
