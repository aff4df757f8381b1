"""Training throughput: our engine against the reference-style loop, same network, same data, same
process, same thread count (issue 7).

    python bench/throughput.py                       # all models, CPU unless a GPU is present
    python bench/throughput.py --steps 20 --models resnet32 --device cpu
    python bench/throughput.py --variants            # also ours without channels_last / with bf16

(a) reference: bench/reference.py (PIL Dataset + DataLoader with `--workers` processes, per-sample
    torchvision transforms, fp32, batch 64, SGD(0.1, 0.9, wd 1e-4), plain model, loss.item() per step);
(b) ours: `tickets.train.train` with its defaults (TrainConfig(): channels_last, fp32 (bf16 and
    tf32 are options since issue 14), device-resident data and augmentation). train() runs whole epochs, so each
    timed call trains one epoch over a subset of exactly `steps x 64` images; its per-epoch test
    evaluation runs on a 64-image test set (included in our time: it slightly penalises us).

Data: CIFAR-shaped random uint8 tensors with CIFAR-10's info (crop padding 4 + flip) for resnet32 /
vgg19; the real Fashion-MNIST training set for lenet5 / lenet300 (no augmentation).
Each measurement is `--repeats` interleaved rounds (ref, ours, ref, ours, ...) after warm-up; the best
round of each counts, which damps noise from other processes on a shared machine.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch

from bench.reference import time_reference_steps

CIFAR_MODELS = ("resnet32", "vgg19")
GRAY_MODELS = ("lenet5", "lenet300")
# Steps per timed round, chosen so the whole default CPU run takes a few minutes on 2 cores.
DEFAULT_STEPS = {"cpu": {"lenet5": 100, "lenet300": 100, "resnet32": 10, "vgg19": 4},
                 "cuda": {"lenet5": 400, "lenet300": 400, "resnet32": 200, "vgg19": 100}}
BATCH = 64


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    line = f"{os.cpu_count()} CPU cores ({cpu}), torch {torch.__version__}, {torch.get_num_threads()} threads"
    if torch.cuda.is_available():
        line += f", GPU {torch.cuda.get_device_name()}"
    return line


def load_avg() -> str:
    try:
        return " ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


def bench_data(model_name: str, images: int):
    """(TensorData, description) for `model_name`: random CIFAR-shaped or real Fashion-MNIST."""
    from tickets.data import dataset_info, load_dataset
    from tickets.data.info import TensorData

    if model_name in GRAY_MODELS:
        data = load_dataset("fashionmnist")
        n = min(images, len(data.y_train))
        return TensorData(data.info, data.x_train[:n], data.y_train[:n], data.x_test[:BATCH],
                          data.y_test[:BATCH]), "fashionmnist"
    info = dataset_info("cifar10")
    gen = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (images + BATCH, *info.shape), dtype=torch.uint8, generator=gen)
    y = torch.randint(0, info.num_classes, (images + BATCH,), generator=gen)
    return TensorData(info, x[:images], y[:images], x[images:], y[images:]), "cifar-shaped random"


def subset(data, n: int, offset: int = 0):
    from tickets.data.info import TensorData

    idx = torch.arange(offset, offset + n) % len(data.y_train)
    return TensorData(data.info, data.x_train[idx], data.y_train[idx], data.x_test, data.y_test)


def ours_config(**overrides):
    from tickets.config import TrainConfig

    return dataclasses.replace(TrainConfig(), epochs=1, milestones=(), batch_size=BATCH,
                               eval_batch_size=BATCH, **overrides)


def time_engine_steps(model, data, *, steps: int, warmup: int, device: str, config) -> float:
    """Images per second of our engine over exactly `steps` batches (one epoch over a subset),
    after a warm-up call of `warmup` batches on the same model."""
    from tickets.train import train

    if warmup:
        train(model, subset(data, warmup * BATCH), config, device=device, seed=1)
    part = subset(data, steps * BATCH, offset=warmup * BATCH)
    _sync(device)
    start = time.perf_counter()
    train(model, part, config, device=device, seed=2)
    _sync(device)
    return steps * BATCH / (time.perf_counter() - start)


def measure(model_name: str, *, device: str, steps: int, warmup: int, repeats: int, workers: int,
            variants: dict[str, dict]) -> dict:
    from tickets.models import build_model

    data, source = bench_data(model_name, (warmup + steps) * BATCH)
    info = data.info
    ref_rates, ours_rates = [], {name: [] for name in ("ours", *variants)}
    for _ in range(repeats):
        torch.manual_seed(0)
        ref_model = build_model(model_name, info)
        ref_rates.append(time_reference_steps(ref_model, data.x_train, data.y_train, info, steps=steps,
                                              warmup=warmup, device=device, workers=workers, batch_size=BATCH))
        for name, overrides in {"ours": {}, **variants}.items():
            torch.manual_seed(0)
            model = build_model(model_name, info)
            ours_rates[name].append(time_engine_steps(model, data, steps=steps, warmup=warmup,
                                                      device=device, config=ours_config(**overrides)))
    row = {"model": model_name, "data": source, "device": device, "steps": steps,
           "ref_img_s": max(ref_rates), "ref_rounds": ref_rates}
    for name, rates in ours_rates.items():
        row[f"{name}_img_s"] = max(rates)
        row[f"{name}_rounds"] = rates
        row[f"{name}_ratio"] = max(rates) / max(ref_rates)
    return row


VARIANTS = {"ours_nchw": {"channels_last": False}, "ours_bf16": {"precision": "bf16"}}


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=None, help="timed steps per round (default: per model)")
    parser.add_argument("--warmup", type=int, default=None, help="warm-up steps (default: 3, 10 for LeNets)")
    parser.add_argument("--models", default="resnet32,vgg19,lenet5,lenet300")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu",
                        choices=("cpu", "cuda"))
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="torch threads, both ways")
    parser.add_argument("--workers", type=int, default=2, help="reference DataLoader workers")
    parser.add_argument("--repeats", type=int, default=2, help="interleaved rounds; best counts")
    parser.add_argument("--variants", action="store_true",
                        help="also time ours with channels_last off and with bf16 autocast")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda but no CUDA device is available")
    torch.set_num_threads(args.threads)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    variants = VARIANTS if args.variants else {}
    print(f"machine: {machine()}; load average before: {load_avg()}", flush=True)
    rows = []
    for name in models:
        steps = args.steps or DEFAULT_STEPS[args.device].get(name, 20)
        warmup = args.warmup if args.warmup is not None else (10 if name in GRAY_MODELS else 3)
        started = time.perf_counter()
        row = measure(name, device=args.device, steps=steps, warmup=warmup, repeats=args.repeats,
                      workers=args.workers, variants=variants)
        row["seconds"] = time.perf_counter() - started
        rows.append(row)
        print(f"  {name}: done in {row['seconds']:.0f} s", flush=True)
    print_table(rows, ["ours", *variants])
    print(f"load average after: {load_avg()}")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "rows": rows}, indent=2))
    return rows


def print_table(rows: list[dict], ours_names: list[str]) -> None:
    head = f"{'model':<10} {'device':<6} {'data':<20} {'steps':>5} {'ref img/s':>10}"
    for name in ours_names:
        head += f" {name + ' img/s':>15} {'ratio':>6}"
    print(head)
    for r in rows:
        line = f"{r['model']:<10} {r['device']:<6} {r['data']:<20} {r['steps']:>5} {r['ref_img_s']:>10.1f}"
        for name in ours_names:
            line += f" {r[name + '_img_s']:>15.1f} {r[name + '_ratio']:>5.2f}x"
        print(line)


def _sync(device: str) -> None:
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


if __name__ == "__main__":
    main()
