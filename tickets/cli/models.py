"""`tickets models` and `tickets datasets`: what can be trained, how big it is, where data goes.

Module-level imports are click and registry only; torch and the model/data packages load inside
the commands so `tickets --help` stays fast."""
from __future__ import annotations

import json

import click

from registry.errors import UserError
from tickets.cli.options import model_options, pairs




def _describe(name: str, info, options: dict, with_layers: bool) -> dict:
    """One model's row: family, prunable weight count and (optionally) its prunable layers.

    Shapes come from the model catalog for the built-in models at their defaults (no torch);
    other options or a plugin's model are built on the CPU (all ten models take about a second)."""
    import math

    from tickets import models as M

    row = {"model": name, "family": M.model_family(name), "options": {**M.model_options(name), **options},
           **M.model_structure(name, options)}
    try:
        M.check_compatible(name, info)
    except UserError as exc:
        return {**row, "compatible": False, "reason": str(exc)}
    layers = M.layer_shapes(name, info, **options)
    row.update(compatible=True, prunable=sum(math.prod(shape) for _, _, shape in layers), num_layers=len(layers))
    if with_layers:
        row["layers"] = [{"name": weight, "type": kind, "shape": list(shape), "weights": math.prod(shape)}
                         for weight, kind, shape in layers]
    return row


@click.command("models")
@click.argument("name", required=False)
@click.option("--dataset", "-d", default="cifar10", show_default=True,
              help="Dataset whose input shape and class count the models are built for.")
@click.option("--layers", "show_layers", is_flag=True, help="Also list every prunable layer.")
@click.option("--option", "-o", "options", multiple=True, metavar="KEY=VALUE",
              help="Model option, e.g. -o width=16 (only with NAME).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def models(name: str | None, dataset: str, show_layers: bool, options: tuple[str, ...], as_json: bool) -> None:
    """List models with their prunable (conv + linear) weight counts, or one model's layers."""
    from tickets.data import dataset_info
    from tickets.models import model_names

    info = dataset_info(dataset)
    if options and not name:
        raise UserError("--option needs a model NAME (options differ between models)")
    parsed: dict = {}
    if name:
        from tickets.models import model_options as declared

        declared(name)  # unknown name -> UserError listing the known ones
        parsed = model_options(name, pairs(options, "--option"))
    names = [name] if name else model_names()
    rows = [_describe(n, info, parsed if name else {}, show_layers or bool(name)) for n in names]
    if name and not rows[0]["compatible"]:
        raise UserError(rows[0]["reason"])
    if as_json:
        click.echo(json.dumps({"dataset": dataset, "models": rows}, indent=2))
        return
    _print_models(rows, info, show_layers or bool(name))


def _print_models(rows: list[dict], info, show_layers: bool) -> None:
    from rich.console import Console
    from rich.markup import escape  # option values, reasons and paths are data, not markup
    from rich.table import Table

    console = Console()
    table = Table(title=f"Models for {info.name} ({info.describe_shape()}, {info.num_classes} classes)")
    table.add_column("model", no_wrap=True)  # a name is data: never cut (a plugin's names are long)
    table.add_column("family", no_wrap=True)  # one word: folding it cut "tinymlp" into "tinym"/"lp"
    table.add_column("prunable weights", justify="right", no_wrap=True)  # a count is never cut either
    table.add_column("layers", justify="right")
    table.add_column("depth · block · widths", overflow="fold")
    table.add_column("options", overflow="fold")
    for row in rows:
        opts = escape(", ".join(f"{k}={v}" for k, v in row["options"].items()) or "-")
        shape = (f"{row['depth']} · {row['block']} · {'-'.join(map(str, row['widths']))}"
                 if "depth" in row else "-")
        if row["compatible"]:
            table.add_row(row["model"], row["family"], f"{row['prunable']:,}", str(row["num_layers"]), shape, opts)
        else:
            table.add_row(row["model"], row["family"], "[dim]n/a[/dim]", "-", shape,
                          f"[dim]{escape(row['reason'].split('; ')[0])}[/dim]")
    console.print(table)
    if not show_layers:
        return
    for row in rows:
        if not row.get("layers"):
            continue
        layer_table = Table(title=f"{row['model']}: prunable layers (registration order)")
        layer_table.add_column("#", justify="right")
        layer_table.add_column("weight")
        layer_table.add_column("type")
        layer_table.add_column("shape")
        layer_table.add_column("weights", justify="right")
        for i, layer in enumerate(row["layers"], 1):
            layer_table.add_row(str(i), layer["name"], layer["type"], "x".join(map(str, layer["shape"])),
                                f"{layer['weights']:,}")
        console.print(layer_table)


@click.command("datasets")
@click.option("--root", type=click.Path(file_okay=False), default=None,
              help="Data root (default: $TICKETS_DATA, else ~/.cache/tickets/data).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def datasets(root: str | None, as_json: bool) -> None:
    """List datasets: shape, classes, where their files are expected and whether they are present."""
    from tickets.data import DATASETS, cache_path, data_root

    base = data_root(root)
    rows = []
    for name, source in DATASETS.items():
        info = source.info
        found = source.locate(base)
        cache = cache_path(name, base)
        rows.append({
            "dataset": name, "shape": list(info.shape), "classes": info.num_classes,
            "present": found is not None or (source.cached and cache.exists()),
            "found_at": str(found) if found is not None and (source.cached or source.files) else None,
            "streamed": source.files,  # file-backed (imagenet, image folders): read while training
            "cached": source.cached and cache.exists(), "cache": str(cache) if source.cached else None,
            "expected": source.expected(base),
        })
    if as_json:
        click.echo(json.dumps({"root": str(base), "datasets": rows}, indent=2))
        return
    from rich.console import Console
    from rich.markup import escape  # paths are data, not markup
    from rich.table import Table

    table = Table(title=f"Datasets (root {escape(str(base))})")
    for column, justify in (("dataset", "left"), ("shape", "left"), ("classes", "right"),
                            ("present", "left"), ("files", "left")):
        table.add_column(column, justify=justify, overflow="fold")
    for row in rows:
        if row["cached"]:
            status, where = "[green]cached[/green]", row["cache"]
        elif row["present"]:
            status, where = "[green]yes[/green]", row["found_at"] or row["expected"]
            if row["streamed"]:
                status = "[green]yes (streamed)[/green]"
        else:
            status, where = "[red]no[/red]", f"expected {row['expected']}"
        table.add_row(row["dataset"], "x".join(map(str, row["shape"])), str(row["classes"]), status, escape(where))
    Console().print(table)
