"""One unattended GPU check (issue 14), driven by bench/gpu_check.sh; prints ONE table.

Sections (each row of the table names its section):
  speed    images/s of the reference-style loop (bench/reference.py) vs our engine for resnet32 and
           vgg19 at batch 64: ours in fp32 (the default), tf32, bf16, bf16 + fused SGD, and (when the
           time budget allows) bf16 + fused SGD + torch.compile; ratio = ours / reference.
  share    aggregate training images/s of one GPU with K = 1, 2, 4, 8 runs sharing it, as K worker
           processes (CUDA MPS if it could be started) and as one packed stacked model.
  parity   final test accuracy of fp32 vs bf16 (and tf32) training of resnet32 on Fashion-MNIST lifted
           to 3x32x32 (zero-padded to 32, grey repeated into 3 channels; CIFAR's crop + flip),
           mean ± std over seeds, verdict by bench/parity.py's rule (|Δ| within 2 standard errors or
           0.5 points).
  cost     projected GPU-hours of Table 1 (studies/table1_cifar.py) from the measured rates, for each
           sharing setting measured (tickets/cost.py arithmetic).

Each section keeps to a time budget (`--budget` seconds in all, shared in proportion) and says what it
skipped. `--cpu-smoke` runs every code path on the CPU in seconds with narrow networks and a handful
of steps (its figures mean nothing). Rows also go to `--out DIR` as gpu_check.json and the measured
rates as calibration.json (copy into a tickets home to get projections from `tickets study plan`).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch

MODELS = ("resnet32", "vgg19")
SHARES = (1, 2, 4, 8)


@dataclasses.dataclass
class Settings:
    device: str
    batch: int
    steps: dict  # model -> timed steps per run
    warmup: int
    widths: dict  # model -> model options (narrow networks in smoke mode)
    ref_workers: int
    shares: tuple
    parity_model: str
    parity_seeds: tuple
    parity_epochs: int
    parity_limit: int | None
    compile: bool
    budget: float
    smoke: bool = False  # CPU rehearsal: the process-sharing rows for one model and K=2 only


def settings(args) -> Settings:
    if args.cpu_smoke:  # narrow nets (resnet32 at width 4 crashes CPU oneDNN's backward), one step each;
        # no time budget: the rehearsal must run every section however loaded the machine (a shared CI
        # runner at load 30 skipped parity and failed the smoke test), and it is seconds when quiet
        return Settings("cpu", 8, {"resnet32": 1, "vgg19": 1}, 1, {"resnet32": {"width": 8}, "vgg19": {"width": 0.125}},
                        0, (1, 2), "resnet32", (0, 1), 1, 64, False, math.inf, smoke=True)
    return Settings("cuda", 64, {"resnet32": args.steps or 150, "vgg19": args.steps or 100}, 20,
                    {"resnet32": {}, "vgg19": {}}, args.ref_workers, SHARES, "resnet32",
                    tuple(int(s) for s in args.parity_seeds.split(",")), args.parity_epochs, args.parity_limit,
                    not args.no_compile, args.budget)


class Rows(list):
    """The table's rows; each one is echoed to stderr as it lands, so a stopped run still shows them."""

    def append(self, row: dict) -> None:
        super().append(row)
        print("  " + json.dumps(row, default=str), file=sys.stderr, flush=True)


class Clock:
    """Elapsed time against the budget; a section past its share skips what is optional."""

    def __init__(self, budget: float):
        self.start, self.budget = time.perf_counter(), budget

    def left(self) -> float:
        return self.budget - (time.perf_counter() - self.start)


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def random_data(info, images: int):
    from tickets.data.info import TensorData

    gen = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (images + 64, *info.shape), dtype=torch.uint8, generator=gen)
    y = torch.randint(0, info.num_classes, (images + 64,), generator=gen)
    return TensorData(info, x[:images], y[:images], x[images:], y[images:])


def build(model: str, info, options: dict, seed: int = 0):
    from tickets.models import build_model

    torch.manual_seed(seed)
    return build_model(model, info, **options)


def engine_config(s: Settings, **overrides):
    from tickets.config import TrainConfig

    return dataclasses.replace(TrainConfig(), epochs=1, milestones=(), batch_size=s.batch,
                               eval_batch_size=64, **overrides)


VARIANTS = {"ours fp32": {}, "ours tf32": {"precision": "tf32"}, "ours bf16": {"precision": "bf16"},
            "ours bf16+fused": {"precision": "bf16", "fused_sgd": True},
            "ours bf16+fused+compile": {"precision": "bf16", "fused_sgd": True, "compile": True}}


# ------------------------------------------------------------------------------------------ speed
def speed(s: Settings, clock: Clock, rows: list) -> None:
    from bench.reference import time_reference_steps
    from bench.throughput import time_engine_steps
    from tickets.data import dataset_info

    info = dataset_info("cifar10")
    for model in MODELS:
        steps = s.steps[model]
        data = random_data(info, (s.warmup + steps) * s.batch)
        ref = time_reference_steps(build(model, info, s.widths[model]), data.x_train, data.y_train, info,
                                   steps=steps, warmup=s.warmup, device=s.device, workers=s.ref_workers,
                                   batch_size=s.batch)
        rows.append({"section": "speed", "model": model, "way": "reference", "k": 1, "img_s": ref, "ratio": 1.0})
        for name, overrides in VARIANTS.items():
            if overrides.get("compile") and (not s.compile or clock.left() < 0.6 * s.budget):
                rows.append({"section": "speed", "model": model, "way": name, "k": 1, "img_s": None,
                             "note": "skipped (--no-compile or time budget)"})
                continue
            try:
                rate = time_engine_steps(build(model, info, s.widths[model]), data, steps=steps, warmup=s.warmup,
                                         device=s.device, config=engine_config(s, **overrides))
                rows.append({"section": "speed", "model": model, "way": name, "k": 1, "img_s": rate,
                             "ratio": rate / ref})
            except Exception as exc:  # one failing option must not cost the rest of the check
                rows.append({"section": "speed", "model": model, "way": name, "k": 1, "img_s": None,
                             "note": f"failed: {type(exc).__name__}: {str(exc).splitlines()[0][:80]}"})


# ------------------------------------------------------------------------------------------ share
def _process_worker(model, options, steps, warmup, batch, device, threads, seed, barrier, out):
    torch.set_num_threads(threads)
    from bench.throughput import subset
    from tickets.data import dataset_info
    from tickets.train import train

    info = dataset_info("cifar10")
    data = random_data(info, (warmup + steps) * batch)
    s = Settings(device, batch, {}, warmup, {}, 0, (), "", (), 0, None, False, 0.0)
    if warmup:
        train(build(model, info, options), subset(data, warmup * batch), engine_config(s), device=device, seed=seed)
    net = build(model, info, options, seed)
    part = subset(data, steps * batch, offset=warmup * batch)
    sync(device)
    barrier.wait()
    train(net, part, engine_config(s), device=device, seed=seed)
    sync(device)
    out.put(time.time())


def time_processes(s: Settings, model: str, k: int, wait: float | None = 300.0) -> float:
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(k + 1), ctx.Queue()
    threads = max(1, (os.cpu_count() or 1) // k)
    steps = s.steps[model]
    procs = [ctx.Process(target=_process_worker, args=(model, s.widths[model], steps, s.warmup, s.batch, s.device,
                                                       threads, i, barrier, out)) for i in range(k)]
    for p in procs:
        p.start()
    try:
        barrier.wait(timeout=wait)
        start = time.time()
        ends = [out.get(timeout=wait) for _ in procs]
    finally:
        for p in procs:
            p.join(timeout=5)
            if p.is_alive():
                p.kill()
    return k * steps * s.batch / (max(ends) - start)


def time_packed(s: Settings, model: str, k: int) -> float:
    from bench.throughput import subset
    from tickets.data import dataset_info
    from tickets.train.packed import train_packed

    info = dataset_info("cifar10")
    steps = s.steps[model]
    data = random_data(info, (s.warmup + steps) * s.batch)
    config = engine_config(s)
    train_packed([build(model, info, s.widths[model], i) for i in range(k)], subset(data, max(s.warmup, 1) * s.batch),
                 config, device=s.device, evaluate=False)
    part = subset(data, steps * s.batch, offset=s.warmup * s.batch)
    sync(s.device)
    start = time.perf_counter()
    train_packed([build(model, info, s.widths[model], i) for i in range(k)], part, config, device=s.device,
                 seeds=range(k), evaluate=False)
    sync(s.device)
    return k * steps * s.batch / (time.perf_counter() - start)


def start_mps() -> str | None:
    """Start the CUDA MPS daemon for the process-sharing rows; None if it cannot run here."""
    for var, path in (("CUDA_MPS_PIPE_DIRECTORY", "/tmp/mps-pipe"), ("CUDA_MPS_LOG_DIRECTORY", "/tmp/mps-log")):
        os.environ.setdefault(var, path)
        Path(os.environ[var]).mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run(["nvidia-cuda-mps-control", "-d"], check=True, timeout=20, capture_output=True)
        # a daemon that started but cannot serve clients would hang every worker: probe it once
        subprocess.run([sys.executable, "-c", "import torch; torch.zeros(1, device='cuda').sum().item()"],
                       check=True, timeout=90, capture_output=True)
        return "mps"
    except (OSError, subprocess.SubprocessError):
        stop_mps()
        return None


def stop_mps() -> None:
    try:
        subprocess.run(["nvidia-cuda-mps-control"], input=b"quit\n", timeout=20, capture_output=True)
    except (OSError, subprocess.SubprocessError):
        pass


def share(s: Settings, clock: Clock, rows: list, mps: bool) -> None:
    ways = ["packed", "processes"]
    mps_state = start_mps() if (mps and s.device == "cuda") else None
    if mps and s.device == "cuda" and mps_state is None:
        rows.append({"section": "share", "model": "-", "way": "processes+mps", "k": 0, "img_s": None,
                     "note": "CUDA MPS could not be started here; processes time-slice"})
    try:
        for model in MODELS:
            for k in s.shares:
                for way in ways:
                    if s.smoke and way == "processes" and (k != 2 or model != MODELS[0]):
                        continue  # each process pays a torch import: seconds on a small CPU
                    if clock.left() < 0.35 * s.budget and k > 2:
                        rows.append({"section": "share", "model": model, "way": way, "k": k, "img_s": None,
                                     "note": "skipped: time budget"})
                        continue
                    label = way + ("+mps" if way == "processes" and mps_state else "")
                    try:
                        rate = (time_packed(s, model, k) if way == "packed"
                                else time_processes(s, model, k, wait=None if math.isinf(clock.left())
                                                    else max(60.0, clock.left())))
                        rows.append({"section": "share", "model": model, "way": label, "k": k, "img_s": rate})
                    except Exception as exc:
                        rows.append({"section": "share", "model": model, "way": label, "k": k, "img_s": None,
                                     "note": f"failed: {type(exc).__name__}: {str(exc).splitlines()[0][:80]}"})
    finally:
        if mps_state:
            stop_mps()
    for row in rows:
        if row["section"] == "share" and row.get("img_s"):
            ref = next((r["img_s"] for r in rows if r["section"] == "speed" and r["model"] == row["model"]
                        and r["way"] == "reference" and r.get("img_s")), None)
            row["ratio"] = row["img_s"] / ref if ref else None


# ------------------------------------------------------------------------------------------ parity
def lifted_fashion_mnist(folder: str | None, limit: int | None):
    """Fashion-MNIST from its IDX files in `folder` (or wherever tickets finds it), as 3x32x32 uint8
    with CIFAR-style crop padding; normalisation statistics from the lifted training set."""
    import torch.nn.functional as F

    from tickets.data import load_dataset
    from tickets.data.info import DatasetInfo, TensorData

    root = None
    if folder:
        root = Path(tempfile.mkdtemp(prefix="gpu_check_data_"))
        (root / "fashionmnist").symlink_to(Path(folder).resolve(), target_is_directory=True)
    data = load_dataset("fashionmnist", root=root)

    def lift(x):
        return F.pad(x, (2, 2, 2, 2)).repeat(1, 3, 1, 1).contiguous()

    n = limit or len(data.y_train)
    m = limit or len(data.y_test)
    x_train, x_test = lift(data.x_train[:n]), lift(data.x_test[:m])
    mean = float(x_train[:, 0].float().mean() / 255)
    std = float(x_train[:, 0].float().std() / 255)
    info = DatasetInfo("fashionmnist32", 3, 32, 10, mean=(mean,) * 3, std=(std,) * 3, crop_padding=4)
    return TensorData(info, x_train, data.y_train[:n], x_test, data.y_test[:m])


def parity(s: Settings, clock: Clock, rows: list, data_dir: str | None) -> None:
    from bench.parity import agree, mean_std
    from tickets.config import TrainConfig
    from tickets.train import train

    if clock.left() < 45:
        rows.append({"section": "parity", "model": s.parity_model, "way": "-", "k": 0, "acc": None,
                     "note": "skipped: time budget"})
        return
    data = lifted_fashion_mnist(data_dir, s.parity_limit)
    epochs = s.parity_epochs
    config = TrainConfig(epochs=epochs, milestones=tuple(m for m in (round(epochs / 2), round(epochs * 3 / 4))
                                                         if 0 < m < epochs), batch_size=s.batch)
    results: dict[str, list[float]] = {}
    for precision in ("fp32", "bf16", "tf32"):
        if precision == "tf32" and clock.left() < 0.15 * s.budget:
            rows.append({"section": "parity", "model": s.parity_model, "way": "tf32", "k": 0, "acc": None,
                         "note": "skipped: time budget"})
            continue
        accs = []
        for seed in s.parity_seeds:
            net = build(s.parity_model, data.info, s.widths[s.parity_model], seed)
            history = train(net, data, dataclasses.replace(config, precision=precision), device=s.device, seed=seed)
            accs.append(history.final_test_acc)
        results[precision] = accs
    base = results["fp32"]
    for precision, accs in results.items():
        mean, std = mean_std(accs)
        verdict = "reference" if precision == "fp32" else ("agree" if agree(accs, base) else "DIFFER")
        rows.append({"section": "parity", "model": s.parity_model, "way": precision, "k": len(accs),
                     "acc": mean, "acc_std": std, "accs": accs, "epochs": epochs, "verdict": verdict})


# ------------------------------------------------------------------------------------------ cost
def cost(s: Settings, rows: list, device_name: str) -> dict:
    """Projected GPU-hours of Table 1 for each measured sharing setting covering both models."""
    from tickets.cost import calibration_key, describe, project, training_work
    from tickets.domain import DOMAIN
    from tickets.study import load_study

    study = load_study(str(Path(__file__).resolve().parent.parent / "studies" / "table1_cifar.py"))
    stages = {}
    for cell in study.cells():
        for stage in DOMAIN.expand(cell):
            stages[stage.key] = stage
    work, _ = training_work(stages.values())
    calibrations = {}
    for row in rows:
        if row["section"] == "share" and row.get("img_s"):
            share_mode = "packed" if row["way"] == "packed" else "processes"
            for w in work:
                if w.model == row["model"]:
                    calibrations[calibration_key(w.model, w.shape, w.batch_size, device_name, row["k"], share_mode,
                                                 w.precision)] = {
                        "model": w.model, "shape": w.shape, "batch_size": w.batch_size, "device_name": device_name,
                        "runs": row["k"], "share": share_mode, "precision": w.precision,
                        "images_per_second": row["img_s"], "source": "bench/gpu_check.py"}
    projections, _ = project(work, calibrations)
    for p in projections:
        rows.append({"section": "cost", "model": "table1", "way": p.share, "k": p.runs, "hours": p.hours,
                     "note": describe(p)})
    if not projections:
        rows.append({"section": "cost", "model": "table1", "way": "-", "k": 0, "hours": None,
                     "note": "no sharing setting was measured for both models"})
    return calibrations


# ------------------------------------------------------------------------------------------ table
def fmt(value, spec: str) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec)


def print_table(rows: list, header: str) -> None:
    print(header)
    print(f"{'section':<7} {'model':<9} {'way':<24} {'K':>2} {'images/s':>10} {'x ref':>6} {'result':<40}")
    for r in rows:
        result = r.get("note", "")
        if r["section"] == "parity" and r.get("acc") is not None:
            result = f"acc {r['acc']:.2f} ± {r['acc_std']:.2f} % ({r['epochs']} ep) {r['verdict']}"
        if r["section"] == "cost" and r.get("hours") is not None:
            result = r["note"]
        print(f"{r['section']:<7} {r['model']:<9} {r['way']:<24} {r['k']:>2} {fmt(r.get('img_s'), ',.0f'):>10} "
              f"{fmt(r.get('ratio'), '.2f'):>6} {result}")


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cpu-smoke", action="store_true", help="every code path on the CPU in seconds")
    parser.add_argument("--data", default=os.environ.get("GPU_CHECK_DATA"),
                        help="folder with Fashion-MNIST's IDX files (default: env GPU_CHECK_DATA, else tickets' search)")
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT") or "."), help="where the JSON files go")
    parser.add_argument("--budget", type=float, default=420.0, help="seconds for the whole check")
    parser.add_argument("--steps", type=int, default=None, help="timed steps per run (default 150 resnet32, 100 vgg19)")
    parser.add_argument("--ref-workers", type=int, default=min(8, os.cpu_count() or 1))
    parser.add_argument("--parity-seeds", default="0,1,2")
    parser.add_argument("--parity-epochs", type=int, default=2)
    parser.add_argument("--parity-limit", type=int, default=20000,
                        help="first N training and test images for the parity runs")
    parser.add_argument("--no-compile", action="store_true")
    parser.add_argument("--no-mps", action="store_true")
    parser.add_argument("--sections", default="speed,share,parity,cost")
    args = parser.parse_args(argv)
    s = settings(args)
    if s.device == "cuda" and not torch.cuda.is_available():
        print("error: no CUDA device here; use --cpu-smoke for the CPU rehearsal", file=sys.stderr)
        raise SystemExit(2)
    from bench.throughput import machine

    clock = Clock(s.budget)
    sections = [x.strip() for x in args.sections.split(",") if x.strip()]
    device_name = torch.cuda.get_device_name() if s.device == "cuda" else "cpu"
    rows: list[dict] = Rows()
    timings = {}
    for name in sections:
        started = time.perf_counter()
        try:
            if name == "speed":
                speed(s, clock, rows)
            elif name == "share":
                share(s, clock, rows, mps=not args.no_mps)
            elif name == "parity":
                parity(s, clock, rows, args.data)
            elif name == "cost":
                calibrations = cost(s, rows, device_name)
                args.out.mkdir(parents=True, exist_ok=True)
                (args.out / "calibration.json").write_text(json.dumps(calibrations, indent=1))
        except Exception as exc:
            rows.append({"section": name, "model": "-", "way": "-", "k": 0,
                         "note": f"section failed: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}"})
        timings[name] = time.perf_counter() - started
    header = (f"gpu_check on {machine()}; {'CPU SMOKE (figures mean nothing)' if args.cpu_smoke else device_name}; "
              f"batch {s.batch}; seconds per section: " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()))
    print_table(rows, header)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "gpu_check.json").write_text(json.dumps({"machine": machine(), "device": device_name,
                                                         "smoke": args.cpu_smoke, "rows": rows,
                                                         "seconds": timings}, indent=1, default=str))
    return rows


if __name__ == "__main__":
    main()
