"""`tickets study plan|run|status|cancel FILE` and `tickets run` (a one-cell study)."""
from __future__ import annotations

import os
import sys

import click

from registry.errors import UserError
from tickets.cli.options import pairs, train_overrides


def _home(ctx: click.Context) -> str:
    return (ctx.obj or {}).get("home") or os.path.abspath(os.environ.get("TICKETS_HOME", ".tickets"))


def _gpus(value: str | None) -> list[str] | None:
    from registry.executors.gpu_slots import parse_gpus

    return parse_gpus(value)


def _plan_table(plan, title: str):
    from rich.table import Table

    stages, cells = plan.counts(), plan.cell_counts()
    from rich.text import Text

    table = Table(title=Text(title))  # a study's name is data, not markup
    for column in ("", "total", "done", "running", "missing", "failed"):
        table.add_column(column, justify="right" if column else "left")
    table.add_row("cells", str(len(plan.cells)), *(str(cells[s]) for s in ("done", "running", "missing", "failed")))
    shared = len(plan.stages)
    table.add_row("stages", str(shared), *(str(stages[s]) for s in ("done", "running", "missing", "failed")))
    return table


def _print_plan(plan, title: str) -> None:
    from rich.console import Console

    from registry.say import say

    console = Console()
    console.print(_plan_table(plan, title))
    kinds: dict[str, int] = {}
    for stage in plan.stages.values():
        kinds[stage.kind] = kinds.get(stage.kind, 0) + 1
    console.print("stages by kind: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
    missing: dict[str, int] = {}
    for key, stage in plan.stages.items():
        if plan.status[key] == "missing":
            missing[stage.kind] = missing.get(stage.kind, 0) + 1
    if missing:  # e.g. only "eval" after evaluations were added to a finished study
        console.print("missing by kind: " + ", ".join(f"{k} {n}" for k, n in sorted(missing.items())))
    trainings = sum(1 for keys in plan.cell_keys for k in keys if plan.stages[k].kind != "eval")
    console.print(f"{len(plan.stages)} stages with shared pretraining; {trainings} training runs "
                  f"without sharing")
    if plan.ingested:
        console.print(f"ingested {plan.ingested} finished runs")
    for problem in plan.problems:  # problems, reasons and keys are data: printed as written
        say(console, ("not ingested", "red"), f" {problem}")
    if plan.busy:
        say(console, (plan.busy, "yellow"))
    for key, how in plan.ended.items():  # submitted, gone, no result: the next run submits it again
        say(console, ("job ended without a result", "yellow"), f" {key}: {how}; `study run` submits it again")


def _failures(plan) -> None:
    from registry.grid import describe_cell

    for key, status in plan.status.items():
        if status == "failed":
            cell = plan.first_cell(key)
            click.echo(f"  failed {key} {describe_cell(cell) if cell else ''}: {plan.reasons.get(key, '')}")


@click.group()
def study() -> None:
    """Plan, run, inspect and cancel declared studies."""


@study.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.pass_context
def plan(ctx: click.Context, file: str) -> None:
    """Show what a study needs: cells, stages, done / running / missing / failed (runs nothing)."""
    from registry.plan import make_plan
    from registry.store import Store
    from tickets.study import load_study

    s = load_study(file)
    p = make_plan(s, Store(_home(ctx)))
    _print_plan(p, f"study {s.name}")
    _cost(p, _home(ctx))
    _readiness(p)
    _stale(ctx, s.name)
    from tickets.pruning.ratio_warnings import study_ratio_warnings

    for line in study_ratio_warnings(p.stages.values()):
        click.echo(f"warning: {line}", err=True)


def _cost(plan, home: str) -> None:
    """Training work of the missing stages and, where calibrated, projected device-hours."""
    from tickets.cost import describe, load_calibrations, project, training_work

    from registry.errors import UserError

    missing = [plan.stages[k] for k, status in plan.status.items() if status == "missing"]
    if not missing or not plan.domain_path.startswith("tickets.domain"):
        return  # another domain's stages are not ours to cost
    try:
        work, unknown = training_work(missing)
    except (UserError, KeyError, TypeError, ValueError) as exc:  # a plan never fails over its estimate
        click.echo(f"training work: not estimated ({exc})")
        return
    images = sum(w.images for w in work if w.images == w.images)
    epochs = sum(w.epochs for w in work)
    bound = "at most " if any(w.upper_bound for w in work) else ""
    trained = sum(w.stages for w in work)
    what = (f"the {trained} missing training stages" if trained != len(missing)
            else f"the {len(missing)} missing stages")  # evaluation stages train nothing
    click.echo(f"training work of {what}: {bound}{epochs:,} epochs, "
               f"{images / 1e6:,.1f} M images (train + test/3 per epoch)"
               + (f"; sizes unknown for {', '.join(unknown)}" if unknown else ""))
    macs = [w.macs for w in work if w.macs == w.macs]
    if macs:  # ImageNet-scale inputs: the compute itself (unpruned networks: an upper bound for pruned ones)
        click.echo(f"training compute: ≈ {sum(macs) / 1e18:,.1f} × 10^18 multiply-accumulates "
                   f"(3 × forward per training image, 1 × per test image; pruned networks other than "
                   f"predefined architectures counted at their unpruned size)")
    projections, uncovered = project(work, load_calibrations(home))
    for projection in projections:
        click.echo(f"  {describe(projection)}")
    if not projections:
        from tickets.cost import gpu_visible

        on = ("--gpus 0`", "GPU-hours") if gpu_visible() else ("` (this machine's CPU)", "CPU-hours")
        for w in uncovered:
            click.echo(f"  no throughput calibration for {w.model} {w.shape} batch {w.batch_size} {w.precision}: "
                       f"`tickets calibrate --model {w.model} --dataset {w.dataset}{' ' if on[0].startswith('-') else ''}{on[0]} projects {on[1]}")


def _stale(ctx: click.Context, name: str) -> None:
    """This study's stored runs made by an older domain version: its plan trains them again."""
    from registry import api
    from tickets.cli.query import stale_keys

    stale = stale_keys(ctx)
    if not stale:
        return
    frame = api.runs(home=_home(ctx), key=stale, study=name)
    if frame.empty:
        return
    n = len(frame)
    click.echo(f"{n} stored run{'s' if n != 1 else ''} of this study {'were' if n != 1 else 'was'} made by an older "
               f"domain version (trained again under the new keys; `tickets runs rm --stale` drops them):")
    for row in frame.head(20).to_dict("records"):
        click.echo(f"  {row['key']} {row['kind']} {row['method']} sparsity {row['sparsity']:g} seed {row['seed']} "
                   f"(domain version {row['domain_version']})")
    if len(frame) > 20:
        click.echo(f"  ... and {len(frame) - 20} more (`tickets runs ls --stale --study {name}`)")


def _readiness(plan) -> None:
    """Warn about what would make the missing stages fail here (e.g. a dataset not downloaded)."""
    for problem in plan.readiness([key for key, status in plan.status.items() if status == "missing"]):
        click.echo(f"warning: {problem}; a local run would stop before starting", err=True)


@study.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--workers", type=click.IntRange(min=1), default=None, help="CPU worker processes (default 1).")
@click.option("--gpus", help="Comma-separated GPU ids (e.g. 0,1); fails at once where CUDA or an id is missing.")
@click.option("--runs-per-gpu", type=click.IntRange(min=1), default=1, show_default=True,
              help="Runs sharing each GPU (with --share packed and no --gpus: runs per CPU worker).")
@click.option("--share", type=click.Choice(["processes", "packed"]), default=None,
              help="How runs share a GPU: 'processes' = one worker process per run (CUDA MPS if started; "
                   "the provisional default), 'packed' = stages of one architecture and schedule trained "
                   "as one stacked model.")
@click.option("--gpus-per-run", type=click.IntRange(min=1), default=None,
              help="GPUs (DDP ranks) per run: --gpus 0-7 --gpus-per-run 4 trains two runs side by side.")
@click.option("--ranks-per-run", type=click.IntRange(min=1), default=None,
              help="CPU processes (gloo DDP ranks) per run.")
@click.option("--retry-failed", is_flag=True, help="Run failed stages again (their error.json is set aside).")
@click.option("--executor", default="local", show_default=True, help="Executor name (local, slurm).")
@click.option("-X", "--exec-opt", "exec_opts", multiple=True, metavar="NAME=VALUE",
              help="Executor option, repeatable; for slurm e.g. partition=gpu time=04:00:00 gpus_per_run=1 "
                   "mem=16G cpus_per_run=4 array_parallelism=8.")
@click.pass_context
def run(ctx: click.Context, file: str, workers: int, gpus: str | None, runs_per_gpu: int, share: str | None,
        gpus_per_run: int | None, ranks_per_run: int | None,
        retry_failed: bool, executor: str, exec_opts: tuple[str, ...]) -> None:
    """Run every stage the study is missing, in dependency order."""
    from registry.scheduler import run_study
    from tickets.study import load_study

    from tickets.cli.interrupt import resumable

    s = load_study(file)
    with resumable():
        outcome = run_study(s, _home(ctx), workers=workers, gpus=_gpus(gpus), retry_failed=retry_failed,
                            executor=executor, executor_options={
                                **({"gpus_per_run": gpus_per_run} if gpus_per_run else {}),
                                **({"ranks_per_run": ranks_per_run} if ranks_per_run else {}),
                                **pairs(exec_opts, "--exec-opt")},
                            runs_per_gpu=runs_per_gpu, share=share)
    ctx.exit(outcome.exit_code)


@study.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.pass_context
def status(ctx: click.Context, file: str) -> None:
    """Ingest finished runs and show the study's counts and failures."""
    from registry.plan import make_plan
    from registry.store import Store
    from tickets.study import load_study

    s = load_study(file)
    p = make_plan(s, Store(_home(ctx)))
    _print_plan(p, f"study {s.name}")
    _failures(p)
    if p.counts()["failed"]:
        ctx.exit(1)


@study.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.pass_context
def cancel(ctx: click.Context, file: str) -> None:
    """Cancel the study's jobs submitted to a detached executor (SLURM)."""
    from registry.atomic import read_json
    from registry.executors import EXECUTORS
    from registry.plan import expand, load_executors
    from registry.store import Store
    from tickets.study import load_study

    s = load_study(file)
    store = Store(_home(ctx))
    _, stages, _ = expand(s)
    load_executors()
    records: dict[str, list] = {}
    for key in stages:
        rundir = store.rundir(key)
        if (rundir / "submitted.json").exists() and not (rundir / "result.json").exists():
            try:
                record = read_json(rundir / "submitted.json")
            except ValueError:
                continue
            records.setdefault(record.get("executor", "?"), []).append(record)
    if not records:
        click.echo("nothing to cancel: no submitted jobs (the local executor runs in the foreground; "
                   "stop it with Ctrl-C)")
        return
    for name, recs in records.items():
        cancelled = EXECUTORS.get(name)().cancel(recs)
        click.echo(f"{name}: cancelled {cancelled} of {len(recs)} submitted jobs")






@click.command("run")
@click.option("--dataset", required=True)
@click.option("--model", required=True)
@click.option("--method", required=True)
@click.option("--sparsity", type=float, default=0.0, show_default=True)
@click.option("--check", default="none", show_default=True)
@click.option("--seed", type=click.IntRange(0, 2 ** 63 - 1), default=0, show_default=True)
@click.option("--opt", multiple=True, help="Method option name=value (repeatable).")
@click.option("--set", "settings", multiple=True, help="Training override name=value (repeatable).")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="CPU worker processes (default 1).")
@click.option("--gpus", help="Comma-separated GPU ids.")
@click.option("--retry-failed", is_flag=True)
@click.option("--track", metavar="TRACKERS", help="Stream the run to tensorboard, mlflow and/or wandb "
                                                  "(comma-separated; as `study run -X track=...`).")
@click.pass_context
def run_one(ctx: click.Context, dataset: str, model: str, method: str, sparsity: float, check: str, seed: int,
            opt: tuple[str, ...], settings: tuple[str, ...], workers: int, gpus: str | None,
            retry_failed: bool, track: str | None) -> None:
    """Run one cell through the registry (deduped like any study cell)."""
    from registry.scheduler import run_study
    from tickets.study import DEFAULT_DOMAIN, one_cell_study

    cell = {"dataset": dataset, "model": model, "method": method, "check": check, "sparsity": sparsity,
            "seed": seed, "method_options": pairs(opt, "--opt"), "train": train_overrides(pairs(settings, "--set"))}
    from tickets.cli.interrupt import resumable

    s = one_cell_study(cell, domain=DEFAULT_DOMAIN)
    with resumable():
        outcome = run_study(s, _home(ctx), workers=workers, gpus=_gpus(gpus), retry_failed=retry_failed,
                            executor_options={"track": track} if track else None)
    if not outcome.exit_code:
        from registry.plan import expand

        from registry.store import Store

        _, stages, cell_keys = expand(s)
        key = cell_keys[0][-1]
        row = Store(_home(ctx)).frame("SELECT test_acc, best_test_acc, achieved_sparsity, collapsed "
                                      "FROM run_results WHERE key = ?", [key])
        summary = ""
        if len(row):
            r = row.iloc[0]
            summary = f"test acc {r['test_acc']:.2f}% (best {r['best_test_acc']:.2f}%)"
            if r["achieved_sparsity"] == r["achieved_sparsity"] and r["achieved_sparsity"] is not None:
                summary += f", sparsity {r['achieved_sparsity']:.4f}"
            summary += " (a layer collapsed)" if r["collapsed"] is True else ""
            summary += ": "
        click.echo(f"run {key}: {summary}{_home(ctx)}/runs/{key}")
    sys.stdout.flush()
    ctx.exit(outcome.exit_code)
