"""`tickets train`: one run by hand, dense or pruned, without the store.

The cell goes through the same `tickets.domain.DOMAIN.expand` as a study, so the run directories
are exactly the registry's (`OUT/<kind>-<key>/` with stage.json, checkpoints, metrics.jsonl,
layers.json, result.json): a stage already finished there is not redone, an interrupted one
resumes from its last epoch checkpoint. torch is imported only inside the command."""
from __future__ import annotations

import os
import traceback
from pathlib import Path
from typing import Any

import click

from registry.errors import UserError
from tickets.cli.options import model_options, pairs, train_overrides

DOMAIN_PATH = "tickets.domain:DOMAIN"






def _writable_out(out: str) -> Path:
    path = Path(out).expanduser().resolve()
    probe = path
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise UserError(f"cannot write to output folder {out}: {probe} is not a writable directory")
    return path


@click.command("train")
@click.option("--dataset", required=True, help="Dataset name (tickets datasets lists them).")
@click.option("--model", required=True, help="Model name (tickets models lists them).")
@click.option("--method", default="dense", show_default=True, help="Pruning method (dense = no pruning).")
@click.option("--sparsity", type=float, default=None, help="Fraction of prunable weights pruned, in [0, 1).")
@click.option("--check", default="none", show_default=True, help="Sanity check applied to the pruning step.")
@click.option("--opt", "method_opts", multiple=True, metavar="KEY=VALUE",
              help="Method option, e.g. --opt rule=erk (repeatable).")
@click.option("--model-opt", "model_opts", multiple=True, metavar="KEY=VALUE",
              help="Model option, e.g. --model-opt width=16 (repeatable).")
@click.option("--seed", type=click.IntRange(0, 2 ** 63 - 1), default=0, show_default=True, help="Run seed (initialisation, data order, pruning).")
@click.option("--epochs", type=int, default=None, help="Training epochs (milestones scale along).")
@click.option("--lr", type=float, default=None, help="Initial learning rate.")
@click.option("--batch-size", type=int, default=None, help="Training batch size.")
@click.option("--milestones", default=None, help="Comma-separated epochs where the lr is multiplied by gamma.")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="Any TrainConfig field, e.g. --set weight_decay=5e-4 (repeatable).")
@click.option("--data-root", type=click.Path(file_okay=False), default=None,
              help="Dataset folder (default: $TICKETS_DATA, else ~/.cache/tickets/data).")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default=None,
              help="Training device (default: the GPU when there is one).")
@click.option("--out", default="runs", show_default=True, type=click.Path(file_okay=False),
              help="Folder for the run directories.")
def train(dataset, model, method, sparsity, check, method_opts, model_opts, seed, epochs, lr, batch_size,
          milestones, settings, data_root, device, out):
    """Train one network (dense or pruned) into OUT/<stage>-<key>/ and print a one-line summary.

    Methods that need a trained dense network (lt, imp, wr, lrr, hybrid, obd, scratch_*) train it
    first, into its own pretrain folder, shared with every later run of the same
    dataset/model/seed/training."""
    from tickets.domain import DOMAIN

    overrides: dict[str, Any] = pairs(settings, "--set")
    for name, value in (("epochs", epochs), ("lr", lr), ("batch_size", batch_size),
                        ("milestones", milestones)):
        if value is not None:
            overrides[name] = value
    cell = {"dataset": dataset, "model": model, "method": method, "check": check,
            "sparsity": (0.0 if method == "dense" else None) if sparsity is None else sparsity,
            "seed": seed, "method_options": pairs(method_opts, "--opt"),
            "model_options": model_options(model, pairs(model_opts, "--model-opt")),
            "train": train_overrides(overrides)}
    if cell["sparsity"] is None:
        raise UserError(f"method {method} prunes: give --sparsity (e.g. 0.9)")
    stages = DOMAIN.expand(cell)
    out_dir = _writable_out(out)
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise UserError("--device cuda: no CUDA device is visible here; use --device cpu")

    from tickets.data import load_dataset

    data = load_dataset(dataset, root=data_root)  # missing files fail here, before any folder exists
    from tickets.cli.interrupt import resumable

    dirs: dict[str, Path] = {}
    result: dict[str, Any] = {}
    with resumable():
        for stage in stages:
            rundir = out_dir / f"{stage.kind}-{stage.key}"
            dep_dirs = {role: dirs[key] for role, key in stage.deps.items()}
            result = _run_stage(DOMAIN, stage, rundir, dep_dirs, data=data, device=device)
            dirs[stage.key] = rundir
    last = stages[-1]
    click.echo(summary(last, result, dirs[last.key], cwd=Path.cwd()))




def _run_stage(domain, stage, rundir: Path, dep_dirs: dict[str, Path], *, data, device) -> dict[str, Any]:
    from registry.atomic import read_json, write_json

    result_path = rundir / "result.json"
    if result_path.exists():
        return read_json(result_path)
    rundir.mkdir(parents=True, exist_ok=True)
    write_json(rundir / "stage.json", {
        "key": stage.key, "kind": stage.kind, "identity": dict(stage.identity), "spec": dict(stage.spec),
        "columns": dict(stage.columns), "deps": dict(stage.deps),
        "dep_dirs": {role: str(path) for role, path in dep_dirs.items()}, "domain": DOMAIN_PATH})
    (rundir / "error.json").unlink(missing_ok=True)
    stage_dict = {"key": stage.key, "kind": stage.kind, "identity": dict(stage.identity),
                  "spec": dict(stage.spec), "columns": dict(stage.columns), "deps": dict(stage.deps)}
    with _ProgressDisplay(f"{stage.kind} {stage.columns['method']}") as display:
        try:
            result = domain.run(stage_dict, rundir, dep_dirs, display.report, device=device, data=data,
                                step_interval=0.1)
        except UserError:
            raise
        except BaseException as exc:
            write_json(rundir / "error.json", {"reason": f"{type(exc).__name__}: {exc}",
                                               "traceback": traceback.format_exc()})
            raise
    write_json(result_path, result)
    return result


class _ProgressDisplay:
    """A rich progress bar for epochs and the steps of the current epoch, fed by `report` events."""

    def __init__(self, title: str):
        self.title = title

    def __enter__(self):
        from rich.console import Console
        from rich.markup import escape
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=Console(stderr=True), transient=True)
        self.progress.__enter__()
        self.epochs = self.progress.add_task(escape(f"{self.title}: epochs"), total=None)
        self.steps = self.progress.add_task("steps", total=None)
        return self

    def __exit__(self, *exc):
        return self.progress.__exit__(*exc)

    def report(self, event: dict[str, Any]) -> None:
        from rich.markup import escape  # descriptions are markup; '[pretrain]' is data

        kind = event.get("event")
        if kind == "phase":
            self.progress.update(self.epochs, description=escape(f"{self.title} [{event['phase']}]: epochs"),
                                 total=event.get("epochs") or None, completed=0)
        elif kind == "step":
            self.progress.update(self.epochs, completed=max(0, int(event["epoch"]) - 1))
            self.progress.update(self.steps, total=event["steps"], completed=event["step"])
        elif kind == "epoch":
            self.progress.update(self.epochs, completed=event["epoch"],
                                 description=escape(f"{self.title} [{event['phase']}] test acc "
                                                    f"{event['test_acc']:.2f}%: epochs"))


def summary(stage, result: dict[str, Any], rundir: Path, cwd: Path | None = None) -> str:
    """The one line printed at the end of `tickets train`."""
    cols = stage.columns
    where = rundir
    if cwd is not None:
        try:
            where = rundir.relative_to(cwd)
        except ValueError:
            pass
    head = f"{cols['method']} {cols['model']}/{cols['dataset']}"
    if cols["method"] != "dense" or cols["sparsity"]:
        head += f" sparsity {cols['sparsity']:g}"
    if cols["check"] != "none":
        head += f" check {cols['check']}"
    head += f" seed {cols['seed']}"
    total = int(result.get("prunable_weights") or 0)
    kept = int(result.get("kept_weights") or 0)
    weights = (f"kept {100.0 * kept / total:.1f}% of {total:,} weights" if total and kept != total
               else f"{total:,} weights")
    if result.get("collapsed"):
        weights += " (a layer collapsed)"
    return (f"{head}: test acc {result['test_acc']:.2f}% (best {result['best_test_acc']:.2f}%), "
            f"{result.get('seconds_per_epoch', 0.0):.1f} s/epoch, {weights} -> {where}")
