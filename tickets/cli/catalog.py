"""`tickets methods`, `tickets checks`, `tickets rules`: what exists, with each option and default,
read from the registries' metadata (so a plugin's methods, checks and rules are listed too: the
main group imports `--plugin` / TICKETS_PLUGINS modules before any command)."""
from __future__ import annotations

import dataclasses
import json
from typing import Any

import click

FORMATS = click.Choice(["table", "json"])


def _default(field: dataclasses.Field) -> Any:
    from registry.identity import to_plain

    if field.default is not dataclasses.MISSING:
        return to_plain(field.default)
    if field.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return to_plain(field.default_factory())  # type: ignore[misc]
    return None


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0].strip() if (text or "").strip() else ""


def method_rows() -> list[dict[str, Any]]:
    from tickets.pruning.methods import METHODS

    rows = []
    for name, cls in METHODS.items():
        options = {f.name: _default(f) for f in dataclasses.fields(cls)} if dataclasses.is_dataclass(cls) else {}
        try:  # flags may be properties of the options (a structured pipeline pretrains or not)
            method = cls()
        except Exception:
            method = cls
        rows.append({"method": name, "needs_pretrain": bool(method.needs_pretrain), "uses_data": bool(method.uses_data),
                     "prunes": bool(method.prunes), "options": options,
                     "summary": getattr(cls, "summary", "") or _first_line(cls.__doc__)})
    return rows


def check_rows() -> list[dict[str, Any]]:
    from tickets.pruning.checks import CHECKS

    return [{"check": name, "applies_to": check.stage, "description": check.description}
            for name, check in CHECKS.items()]


def rule_rows() -> list[dict[str, Any]]:
    from tickets.pruning.ratios import RATIOS

    return [{"rule": name, "description": RATIOS.meta(name).get("description") or _first_line(fn.__doc__)}
            for name, fn in RATIOS.items()]


def _options_text(options: dict[str, Any]) -> str:
    """None is a default resolved per dataset and network (docs/FIDELITY.md): shown as auto."""
    return ", ".join(f"{k}={'auto' if v is None else json.dumps(v)}" for k, v in options.items()) or "-"


def _emit(rows: list[dict[str, Any]], fmt: str, title: str, columns: list[str]) -> None:
    if fmt == "json":
        click.echo(json.dumps(rows, indent=1))
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=title)
    for column in columns:
        table.add_column(column.replace("_", " "), overflow="fold")
    for row in rows:
        cells = []
        for column in columns:
            value = row[column]
            if isinstance(value, dict):
                value = _options_text(value)
            elif isinstance(value, bool):
                value = "yes" if value else "no"
            cells.append(escape(str(value)))
        table.add_row(*cells)
    Console(width=max(120, Console().width)).print(table)


@click.command()
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
def methods(fmt: str) -> None:
    """Pruning methods with every option and its default (set them as Grid method_options or --opt)."""
    _emit(method_rows(), fmt, "methods", ["method", "options", "needs_pretrain", "uses_data", "summary"])


@click.command()
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
def checks(fmt: str) -> None:
    """Sanity checks: what each changes ('data': the pruning step's data; 'mask': before retraining)."""
    _emit(check_rows(), fmt, "checks", ["check", "applies_to", "description"])


@click.command()
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
def rules(fmt: str) -> None:
    """Layer-wise ratio rules (a method's `rule` option); see `tickets ratios MODEL --rule R` for numbers."""
    _emit(rule_rows(), fmt, "ratio rules", ["rule", "description"])
