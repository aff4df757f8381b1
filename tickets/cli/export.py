"""`tickets export tensorboard|mlflow|wandb`: write finished runs from the store to a tracker
(registry/track/export.py), e.g. a sweep that ran without tracking, or on a node without network."""
from __future__ import annotations

import click

from tickets.cli.query import axis_filters


@click.command("export")
@click.argument("tracker", type=click.Choice(["tensorboard", "mlflow", "wandb"]))
@axis_filters
@click.option("--kind", help="Only stages of this kind (pretrain, ticket).")
@click.option("--study", help="Only runs this study asked for (grouped under it).")
@click.option("--to", "target", metavar="WHERE",
              help="TensorBoard log folder, MLflow tracking URI (folder, sqlite:///..., http://...) or W&B mode "
                   "(offline, online); default: <home>/tensorboard, MLFLOW_TRACKING_URI or <home>/mlruns, "
                   "WANDB_MODE or offline.")
@click.pass_context
def export(ctx: click.Context, tracker: str, target: str | None, study: str | None, **filters) -> None:
    """Write finished runs (curves, summary, layer keep ratios) to TRACKER. Exporting twice writes
    each run once."""
    from registry.store import Store
    from registry.track.export import export_runs

    store = Store(ctx.obj["home"])
    if not store.exists():
        raise click.UsageError(f"no store at {store.path}")
    written, skipped = export_runs(store, tracker, target, study, **filters)
    already = f", {skipped} already there" if skipped else ""
    click.echo(f"exported {written} run{'s' if written != 1 else ''} to {tracker}{already}")
