"""`tickets sql`, `tickets runs ls|show`, `tickets store export|import|ingest`."""
from __future__ import annotations

import os

import click

FORMATS = click.Choice(["table", "csv", "json"])


def _home(ctx: click.Context) -> str:
    return (ctx.obj or {}).get("home") or os.path.abspath(os.environ.get("TICKETS_HOME", ".tickets"))


TABLE_ROWS = 200  # a terminal table longer than this helps nobody; csv/json carry everything


def _emit(frame, fmt: str, title: str | None = None) -> None:
    """Print a DataFrame or `registry.store.Rows` as a terminal table, CSV or JSON."""
    if fmt != "table" and not hasattr(frame, "to_csv"):  # Rows: csv/json keep pandas' exact forms
        import pandas as pd

        frame = pd.DataFrame(frame.rows, columns=list(frame.columns))
    if fmt == "csv":
        from registry.textsafe import csv_frame

        click.echo(csv_frame(frame).to_csv(index=False), nl=False)
        return
    if fmt == "json":
        click.echo(frame.to_json(orient="records", date_format="iso", indent=1))
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    # Every name and value goes in as Text: data is printed as data, never read as Rich markup
    # ('[x] list' stays '[x] list'; 'a[/]b' is no MarkupError).
    table = Table(title=Text(title) if title else None)
    for column in frame.columns:  # column names too: `tickets sql 'SELECT 1 AS "\x1b[2J"'`
        # keys must stay copyable into `runs show`; long free text (specs, tracebacks) is cut short
        long_text = str(column) in ("spec", "deps", "traceback", "extra", "rundir")
        table.add_column(Text(_fmt(str(column))), no_wrap=str(column) in ("key", "method", "dataset", "model", "check"),
                         overflow="ellipsis" if long_text else "fold", max_width=40 if long_text else None)
    for row in (frame.rows[:TABLE_ROWS] if not hasattr(frame, "head")
                else frame.head(TABLE_ROWS).itertuples(index=False)):
        table.add_row(*(Text("" if _missing(v) else _fmt(v)) for v in row))
    Console(width=_table_width()).print(table)
    shown = f" (showing the first {TABLE_ROWS}; --format csv or json gives all)" if len(frame) > TABLE_ROWS else ""
    click.echo(f"{len(frame)} row{'s' if len(frame) != 1 else ''}{shown}")


def _table_width() -> int:
    """A terminal's width (at least 120); piped, wide enough that no cell wraps: a key, a kind or a
    variant cut into `pretr`/`ain` is no use to grep, sort or copy."""
    import sys

    from rich.console import Console

    if not sys.stdout.isatty():
        return 10_000
    return max(120, Console().width)


def _where_looked(home: str) -> None:
    from registry.store import STORE_FILE

    what = "looked in" if os.path.exists(os.path.join(home, STORE_FILE)) else "no store at"
    where = home if what == "looked in" else os.path.join(home, STORE_FILE)
    click.echo(f"({what} {where}; set --home or TICKETS_HOME for another store)", err=True)


def _missing(value) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return value != value
    if isinstance(value, (str, int, list, dict)):
        return False
    try:
        import pandas as pd

        return bool(pd.isna(value)) if not isinstance(value, (list, dict)) else False
    except (TypeError, ValueError):
        return False


def _fmt(value) -> str:
    from registry.textsafe import terminal_text

    if isinstance(value, float):
        return f"{value:.6g}"
    return terminal_text(value)  # a stored name's ESC/BEL bytes must not reach the terminal


@click.command()
@click.argument("query")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.option("--timeout", "timeout_s", type=float, default=None,
              help="Stop the query after this many seconds (default 60, TICKETS_SQL_TIMEOUT; 0: none).")
@click.option("--memory", default=None, help="Memory cap, e.g. 8GB (default 2GB, TICKETS_SQL_MEMORY).")
@click.option("--threads", type=int, default=None, help="Thread cap (default 2, TICKETS_SQL_THREADS).")
@click.pass_context
def sql(ctx: click.Context, query: str, fmt: str, timeout_s: float | None, memory: str | None,
        threads: int | None) -> None:
    """Run read-only SQL (SELECT/WITH/DESCRIBE/SHOW) over the store: runs, epochs, layers, results, run_results."""
    from registry import api
    from registry.sqllimits import SqlLimits

    limits = SqlLimits.from_env(memory=memory, threads=threads, timeout_s=timeout_s)
    frame = api.sql(query, home=_home(ctx), limits=limits, rows=fmt == "table")
    _emit(frame, fmt)
    if frame.empty and fmt == "table":
        _where_looked(_home(ctx))


@click.group()
def runs() -> None:
    """List and show runs in the store."""


def axis_filters(command):
    """The filters `runs ls` and `runs rm` share: one option per axis of a run."""
    for name, kind in reversed((("dataset", None), ("model", None), ("method", None), ("check", None),
                                ("sparsity", float), ("seed", int))):
        command = click.option(f"--{name}", type=kind)(command)
    return command


@runs.command("ls")
@axis_filters
@click.option("--status", type=click.Choice(["done", "failed", "imported", "running"]),
              help="running: stages under a live lease now (from the run directories), with host, "
                   "epoch and heartbeat age.")
@click.option("--kind")
@click.option("--study", help="Only runs this study asked for.")
@click.option("--stale", is_flag=True, help="Only runs made by an older domain version than their spec gets "
                                            "today (a study would train them again; `runs rm --stale`).")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.pass_context
def runs_ls(ctx: click.Context, fmt: str, stale: bool, **filters) -> None:
    """List runs, filtered by axis values."""
    from registry import api

    if stale:
        filters["key"] = stale_keys(ctx) or ["-"]  # "-" is no key: an empty selection
    if filters.get("status") == "running":
        filters.pop("status")
        frame = api.running(home=_home(ctx), **filters)
        frame = frame[["key", "kind", "dataset", "model", "method", "check", "sparsity", "seed", "host",
                       "phase", "epoch", "epochs", "heartbeat_age_s"]]
    else:
        frame = api.results(home=_home(ctx), **filters)
        frame = frame[["key", "kind", "status", "dataset", "model", "method", "check", "sparsity", "seed",
                       "test_acc", "best_test_acc"]]
    _emit(frame, fmt)
    if frame.empty and fmt == "table":  # say where we looked: a wrong working folder looks like no runs
        _where_looked(_home(ctx))


def stale_keys(ctx: click.Context) -> list[str]:
    """Stored runs made by an older domain version (registry/stale.py, tickets/versions.py)."""
    from registry.domain import load_domain
    from registry.stale import stale_keys as find
    from registry.store import Store

    return find(Store(_home(ctx)), load_domain(os.environ.get("TICKETS_DOMAIN") or "tickets.domain:DOMAIN"))


@runs.command("show")
@click.argument("key")
@click.pass_context
def runs_show(ctx: click.Context, key: str) -> None:
    """Spec, status, result, epochs and layers of one run (a unique key prefix is enough)."""
    import json

    from registry import api

    parts = api.show(key, home=_home(ctx))
    run = parts["run"].iloc[0].to_dict()
    click.echo(f"key          {_fmt(run['key'])}")
    for name in ("kind", "status", "source", "dataset", "model", "method", "check", "sparsity", "seed",
                 "rundir", "host", "started", "finished", "code_version", "studies", "deps",
                 "git_commit", "git_dirty", "git_diff_hash", "env_hash", "torch_build", "cpu_capability",
                 "data_fingerprint", "domain_version"):
        if not _missing(run.get(name)):
            click.echo(f"{name + ' ':<13}{_fmt(run[name])}")
    if not _missing(run.get("spec")):
        click.echo("spec         " + json.dumps(json.loads(run["spec"]), sort_keys=True))
    if not _missing(run.get("error")):
        click.echo(f"error        {_fmt(run['error'])}")
    if not parts["result"].empty:  # one line per field: thirteen columns side by side cut the values short
        result = parts["result"].drop(columns=["key"]).iloc[0].to_dict()
        click.echo("result")
        for name, value in result.items():
            if _missing(value):
                continue
            if name == "extra" and isinstance(value, str):
                try:
                    value = json.dumps(json.loads(value), sort_keys=True)
                except ValueError:
                    pass
            click.echo(f"  {name:<22} {_fmt(value)}")
    if not parts["epochs"].empty:
        _emit(parts["epochs"], "table", "epochs")
    if not parts["layers"].empty:
        _emit(parts["layers"], "table", "layers")


@click.group()
def store() -> None:
    """Export, import and re-ingest the results store."""


@store.command("export")
@click.argument("file", type=click.Path(dir_okay=False))
@click.pass_context
def store_export(ctx: click.Context, file: str) -> None:
    """Write every finished run to FILE.csv or FILE.parquet (the exchange format)."""
    from registry import api

    n = api.export(file, home=_home(ctx))
    click.echo(f"exported {n} runs to {file}")


@store.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.pass_context
def store_import(ctx: click.Context, file: str) -> None:
    """Merge a CSV/Parquet exchange file or another store.duckdb into this store."""
    from registry import api

    added, total = api.import_file(file, home=_home(ctx))
    present = f"; {total - added} already in the store (stored values kept)" if total > added else ""
    click.echo(f"imported {added} new runs from {file}{present}")


@store.command("ingest")
@click.pass_context
def store_ingest(ctx: click.Context) -> None:
    """Rescan every run directory under the home and (re)index the finished ones."""
    from registry.ingest import ingest_all
    from registry.store import Store

    n, problems = ingest_all(Store(_home(ctx)))
    click.echo(f"ingested {n} runs")
    for problem in problems:
        click.echo(f"not ingested: {problem}", err=True)
    if problems:
        ctx.exit(1)
