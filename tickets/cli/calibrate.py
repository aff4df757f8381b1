"""`tickets calibrate`: measure training throughput for a model on this machine's CPU or one GPU and
keep it in the home, so `tickets study plan` can project device-hours (tickets/cost.py)."""
from __future__ import annotations

import os

import click


@click.command()
@click.option("--model", required=True, help="Model name (see `tickets models`).")
@click.option("--dataset", required=True, help="Dataset whose input shape to use (no files needed).")
@click.option("--gpus", help="One GPU id to measure on (default: the CPU).")
@click.option("--runs-per-gpu", type=click.IntRange(min=1), default=1, show_default=True,
              help="Runs sharing the device at once (aggregate images/s is recorded).")
@click.option("--share", type=click.Choice(["processes", "packed"]), default="processes", show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True)
@click.option("--precision", type=click.Choice(["fp32", "tf32", "bf16"]), default="fp32", show_default=True)
@click.option("--steps", type=click.IntRange(min=1), default=50, show_default=True,
              help="Timed training steps per run (after an equal warm-up epoch).")
@click.pass_context
def calibrate(ctx: click.Context, model: str, dataset: str, gpus: str | None, runs_per_gpu: int, share: str,
              batch_size: int, precision: str, steps: int) -> None:
    """Measure aggregate training images/s and keep it in <home>/calibration.json."""
    from registry.errors import UserError
    from registry.executors.gpu_slots import check_gpus, parse_gpus
    from tickets.cost import save_calibration
    from tickets.data import dataset_info
    from tickets.models import model_options
    from tickets.train.calibrate import calibrate as measure

    model_options(model)  # unknown names fail here, listing the models
    dataset_info(dataset)
    ids = parse_gpus(gpus)
    device = "cpu"
    if ids:
        if len(ids) != 1:
            raise UserError(f"--gpus {gpus}: calibrate measures one GPU; give one id")
        check_gpus(ids)
        device = f"cuda:{ids[0]}"
    entry = measure(model, dataset, device=device, runs=runs_per_gpu, share=share, batch_size=batch_size,
                    precision=precision, steps=steps)
    home = (ctx.obj or {}).get("home") or os.path.abspath(os.environ.get("TICKETS_HOME", ".tickets"))
    save_calibration(home, entry)
    click.echo(f"{model} {entry['shape']} batch {batch_size} {precision} on {entry['device_name']}, "
               f"{runs_per_gpu} run(s) ({share}): {entry['images_per_second']:,.0f} images/s "
               f"({entry['per_run_images_per_second']:,.0f} per run); saved in {home}/calibration.json")
