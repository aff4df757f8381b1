"""`tickets runs rm`: forget runs (run directory and store rows) by key or by filter, so a bad run
can run again. Added to the `runs` group of `tickets.cli.query`."""
from __future__ import annotations

import click

from registry.errors import UserError
from tickets.cli.query import axis_filters, runs

__all__ = ["runs"]


@runs.command("rm")
@click.argument("keys", nargs=-1)
@axis_filters
@click.option("--status", type=click.Choice(["done", "failed", "imported"]))
@click.option("--kind")
@click.option("--dependents", "with_dependents", is_flag=True,
              help="Also remove the runs that depend on these (e.g. tickets of a removed pretraining).")
@click.option("--stale", is_flag=True, help="The runs made by an older domain version (`runs ls --stale`).")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def runs_rm(ctx: click.Context, keys: tuple[str, ...], with_dependents: bool, yes: bool, stale: bool,
            **filters) -> None:
    """Remove runs: their run directories and store rows. KEYS are run keys (a unique prefix of at
    least 4 characters is enough); the filters select runs like `runs ls` does. A study that needs
    a removed run runs it again."""
    from registry import api
    from registry.remove import dependents, describe, known_keys, remove_runs, resolve
    from registry.store import Store

    store = Store(ctx.obj["home"])
    filters = {k: v for k, v in filters.items() if v is not None}
    if stale:
        from tickets.cli.query import stale_keys

        filters["key"] = stale_keys(ctx) or ["-"]  # "-" is no key: an empty selection
    if not keys and not filters:
        raise UserError("give run keys or at least one filter (--method snip, --status failed, ...); "
                        "nothing removed")
    chosen = resolve(keys, known_keys(store))
    if filters:
        chosen += [k for k in api.runs(home=store.home, **filters)["key"] if k not in chosen]
        if "status" not in filters:  # stages running now are not in the store yet: match them too,
            # so removing one is refused as running (as by key), not answered "no run matches"
            chosen += [k for k in api.running(home=store.home, **filters)["key"] if k not in chosen]
    if not chosen:
        click.echo("no run matches; nothing removed")
        return
    after = dependents(store, chosen)
    click.echo(f"{len(chosen)} run{'s' if len(chosen) > 1 else ''} to remove:")
    for line in describe(store, chosen):
        click.echo(f"  {line}")
    if after:
        fate = "removed too (--dependents)" if with_dependents else "kept (add --dependents to remove them too)"
        click.echo(f"{len(after)} run{'s' if len(after) > 1 else ''} depend on these, {fate}:")
        for line in describe(store, after):
            click.echo(f"  {line}")
        if with_dependents:
            chosen += after
    if not yes:
        click.confirm(f"remove {len(chosen)} run{'s' if len(chosen) > 1 else ''} (run directories and store rows)?",
                      abort=True)
    removed = remove_runs(store, chosen)
    click.echo(f"removed {removed} run{'s' if removed != 1 else ''}")
