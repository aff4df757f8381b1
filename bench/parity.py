"""Accuracy parity: our engine and the reference-style loop reach the same test accuracy on the
quickstart network(s) on Fashion-MNIST (issue 7).

    python bench/parity.py                                  # lenet5, 3 epochs, seeds 0 1 (~3-6 min on 2 cores)
    python bench/parity.py --models lenet5,lenet300 --epochs 5 --seeds 0,1,2

Both ways train the same architecture from the same seed for the same epochs with the paper's
optimiser (SGD 0.1, momentum 0.9, wd 1e-4, batch 64) and the paper's schedule shape scaled to the
epoch count (`tickets.config.resolve`), then report the final test accuracy. Ours runs with its
defaults (fp32 everywhere since issue 14). The two differ in data order and augmentation draws,
so single runs differ; the means must agree within run-to-run noise:
|mean_ours - mean_ref| <= max(2 * sqrt(s_ours^2/n + s_ref^2/n), 0.5 percentage points).
Expected runtime: ~25-40 s per (model, seed, way) and 3 epochs on a quiet 2-core CPU.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch

from bench.reference import reference_train
from bench.throughput import load_avg, machine


def mean_std(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def agree(ours: list[float], ref: list[float], floor: float = 0.5) -> bool:
    (mo, so), (mr, sr) = mean_std(ours), mean_std(ref)
    n = max(min(len(ours), len(ref)), 1)
    return abs(mo - mr) <= max(2 * ((so ** 2 + sr ** 2) / n) ** 0.5, floor)


def run(model_name: str, data, *, epochs: int, seeds: list[int], device: str, workers: int,
        train_limit: int | None = None) -> dict:
    from tickets.config import resolve
    from tickets.data.info import TensorData
    from tickets.models import build_model
    from tickets.train import train

    if train_limit:
        data = TensorData(data.info, data.x_train[:train_limit], data.y_train[:train_limit],
                          data.x_test, data.y_test)
    config = resolve(data.info.name, {"epochs": epochs})
    ref, ours, seconds = [], [], {"ref": 0.0, "ours": 0.0}
    for seed in seeds:
        torch.manual_seed(seed)
        start = time.perf_counter()
        ref.append(reference_train(build_model(model_name, data.info), data, epochs=epochs,
                                   milestones=config.milestones, lr=config.lr, device=device,
                                   workers=workers, batch_size=config.batch_size, seed=seed))
        seconds["ref"] += time.perf_counter() - start
        torch.manual_seed(seed)
        start = time.perf_counter()
        history = train(build_model(model_name, data.info), data, config, device=device, seed=seed)
        seconds["ours"] += time.perf_counter() - start
        ours.append(history.final_test_acc)
        print(f"  {model_name} seed {seed}: ref {ref[-1]:.2f} %, ours {ours[-1]:.2f} %", flush=True)
    return {"model": model_name, "epochs": epochs, "milestones": list(config.milestones), "seeds": seeds,
            "ref": ref, "ours": ours, "seconds": seconds, "agree": agree(ours, ref)}


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="lenet5")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--dataset", default="fashionmnist")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu",
                        choices=("cpu", "cuda"))
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--workers", type=int, default=2, help="reference DataLoader workers")
    parser.add_argument("--train-limit", type=int, default=None,
                        help="use only the first N training images (smoke runs)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    from tickets.data import load_dataset

    data = load_dataset(args.dataset)
    seeds = [int(s) for s in args.seeds.split(",")]
    print(f"machine: {machine()}; load average before: {load_avg()}", flush=True)
    rows = [run(m.strip(), data, epochs=args.epochs, seeds=seeds, device=args.device,
                workers=args.workers, train_limit=args.train_limit)
            for m in args.models.split(",") if m.strip()]
    print(f"\nfinal test accuracy (%), {args.dataset}, {args.device}, mean ± std over seeds {args.seeds}")
    print(f"{'model':<10} {'epochs':>6} {'reference':>16} {'ours':>16} {'ref s':>7} {'ours s':>7}  verdict")
    for r in rows:
        (mr, sr), (mo, so) = mean_std(r["ref"]), mean_std(r["ours"])
        verdict = "agree" if r["agree"] else "DIFFER"
        print(f"{r['model']:<10} {r['epochs']:>6} {mr:>9.2f} ± {sr:<4.2f} {mo:>9.2f} ± {so:<4.2f} "
              f"{r['seconds']['ref']:>7.0f} {r['seconds']['ours']:>7.0f}  {verdict}")
    print(f"load average after: {load_avg()}")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "rows": rows}, indent=2))
    return rows


if __name__ == "__main__":
    main()
