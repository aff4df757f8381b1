"""`tickets ratios MODEL --dataset D --rule smart --sparsity 0.98`: per-layer keep ratios of a rule.

Prints name, shape, weights, kept and keep ratio per prunable layer, then the total kept and the
achieved sparsity; `--json` for machines, `--plot FILE` for a bar chart (PNG or PDF by suffix).
Torch loads inside the command only; the model is built on the meta device (shapes, no memory)."""
from __future__ import annotations

import json
from pathlib import Path

import click

from registry.errors import UserError
from tickets.cli.options import model_options, pairs




def plot_plan(plan, path: Path, title: str) -> None:
    """Bar chart of per-layer keep ratios, written atomically (format from the suffix)."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from registry.atomic import write_bytes

    suffix = path.suffix.lower().lstrip(".")
    if suffix not in ("png", "pdf", "svg"):
        raise UserError(f"plot file {path} must end in .png, .pdf or .svg")
    ratios = [r["keep_ratio"] for r in plan.rows]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.28 * len(ratios) + 2), 3.6))
    ax.bar(range(1, len(ratios) + 1), ratios, color="tab:blue")
    ax.set_xlabel("prunable layer (registration order)")
    ax.set_ylabel("keep ratio")
    ax.set_ylim(0, 1.05)
    ax.set_title(title)
    ax.set_xticks(range(1, len(ratios) + 1))
    ax.tick_params(axis="x", labelsize=7)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format=suffix)
    plt.close(fig)
    write_bytes(path, buf.getvalue())


@click.command("ratios")
@click.argument("model")
@click.option("--dataset", "-d", default="cifar10", show_default=True,
              help="Dataset the model is built for (input shape, class count).")
@click.option("--rule", "-r", default="smart", show_default=True, help="Layer-ratio rule name.")
@click.option("--sparsity", "-s", type=float, default=0.98, show_default=True,
              help="Fraction of prunable weights pruned, in [0, 1).")
@click.option("--option", "-o", "options", multiple=True, metavar="KEY=VALUE",
              help="Model option, e.g. -o width=16.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--plot", "plot", type=click.Path(dir_okay=False), default=None,
              help="Also draw per-layer keep ratios to FILE (.png, .pdf or .svg).")
def ratios(model: str, dataset: str, rule: str, sparsity: float, options: tuple[str, ...],
           as_json: bool, plot: str | None) -> None:
    """Print per-layer keep ratios of a ratio rule for MODEL at a sparsity."""
    import torch

    from tickets import models as M
    from tickets.data import dataset_info
    from tickets.pruning.ratios import check_sparsity, parse_rule, plan_ratios

    check_sparsity(sparsity)
    parse_rule(rule)
    M.MODELS.get(model)
    info = dataset_info(dataset)
    opts = model_options(model, pairs(options, "--option"))
    with torch.device("meta"):
        net = M.build_model(model, info, **opts)
    plan = plan_ratios(rule, net, sparsity, M.model_family(model))
    if plot:
        plot_plan(plan, Path(plot), f"{model} on {dataset}: {rule} at sparsity {sparsity}")
    for line in plan.warnings():  # a collapsed rule says so instead of training to chance silently
        click.echo(f"warning: {line}", err=True)
    if as_json:
        options_used = {**M.model_options(model), **opts}  # defaults included, as `tickets models` shows them
        click.echo(json.dumps({"model": model, "dataset": dataset, "options": options_used, **plan.to_dict()},
                              indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{model} on {dataset}: rule {rule}, target sparsity {sparsity}")
    for col, just in (("#", "right"), ("layer", "left"), ("shape", "left"), ("weights", "right"),
                      ("kept", "right"), ("keep ratio", "right")):
        table.add_column(col, justify=just)
    for i, r in enumerate(plan.rows, 1):
        table.add_row(str(i), r["layer"], "x".join(map(str, r["shape"])), f"{r['weights']:,}",
                      f"{r['kept']:,}", f"{r['keep_ratio']:.4f}")
    console = Console(width=max(100, Console().width))
    console.print(table)
    console.print(f"kept {plan.kept:,} of {plan.total:,} prunable weights; "
                  f"achieved sparsity {plan.achieved_sparsity:.6f} (target {plan.target_sparsity})")
    if plot:
        console.print(f"plot written to {plot}", markup=False, highlight=False)
