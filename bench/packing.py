"""Packing several runs on one device: aggregate training images per second with K = 1, 2, 4, 8 runs
(issue 7).

    python bench/packing.py                          # lenet5 on Fashion-MNIST, CPU unless a GPU is present
    python bench/packing.py --models lenet5,resnet32 --packs 1,2,4,8 --steps 30

Three ways to train K runs of one architecture, each timed for `--steps` steps per run:
- sequential: K separate `tickets.train.train` calls one after another (aggregate = one run's rate);
- processes:  K worker processes started together, each one `train` call, torch threads split
              between them (threads // K, at least 1); wall time from a shared start barrier;
- packed:     `tickets.train.packed.train_packed`, one stacked model (torch.func vmap) for all K;
              on CUDA also `--cuda-graph` (the whole packed step captured in a CUDA graph).
Ours' defaults throughout (channels_last for single runs, fp32: bf16 is an option since issue 14).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch

from bench.throughput import BATCH, bench_data, load_avg, machine, subset

DEFAULT_STEPS = {"cpu": {"lenet5": 60, "lenet300": 60, "resnet32": 4, "vgg19": 2},
                 "cuda": {"lenet5": 300, "lenet300": 300, "resnet32": 100, "vgg19": 50}}


def config(**overrides):
    from tickets.config import TrainConfig

    return dataclasses.replace(TrainConfig(), epochs=1, milestones=(), batch_size=BATCH,
                               eval_batch_size=BATCH, **overrides)


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def time_sequential(model_name: str, data, k: int, steps: int, device: str) -> float:
    from tickets.models import build_model
    from tickets.train import train

    part = subset(data, steps * BATCH)
    train(build_model(model_name, data.info), subset(data, 2 * BATCH), config(), device=device)  # warm-up
    _sync(device)
    start = time.perf_counter()
    for i in range(k):
        torch.manual_seed(i)
        train(build_model(model_name, data.info), part, config(), device=device, seed=i)
    _sync(device)
    return k * steps * BATCH / (time.perf_counter() - start)


def time_packed(model_name: str, data, k: int, steps: int, device: str, cuda_graph: bool = False) -> float:
    from tickets.models import build_model
    from tickets.train.packed import train_packed

    def models():
        out = []
        for i in range(k):
            torch.manual_seed(i)
            out.append(build_model(model_name, data.info))
        return out

    train_packed(models(), subset(data, 2 * BATCH), config(), device=device, evaluate=False,
                 cuda_graph=cuda_graph)  # warm-up (and graph capture)
    part = subset(data, steps * BATCH)
    _sync(device)
    start = time.perf_counter()
    train_packed(models(), part, config(), device=device, seeds=range(k), evaluate=False,
                 cuda_graph=cuda_graph)
    _sync(device)
    return k * steps * BATCH / (time.perf_counter() - start)


def _process_worker(model_name, steps, device, threads, seed, barrier, out):
    torch.set_num_threads(threads)
    from tickets.models import build_model
    from tickets.train import train

    data, _ = bench_data(model_name, steps * BATCH)
    part = subset(data, steps * BATCH)
    train(build_model(model_name, data.info), subset(data, 2 * BATCH), config(), device=device)  # warm-up
    torch.manual_seed(seed)
    model = build_model(model_name, data.info)
    barrier.wait()
    train(model, part, config(), device=device, seed=seed)
    _sync(device)
    out.put(time.time())


def time_processes(model_name: str, k: int, steps: int, device: str, threads: int) -> float:
    ctx = mp.get_context("spawn")  # CUDA-safe; each worker imports torch itself
    barrier, out = ctx.Barrier(k + 1), ctx.Queue()
    per = max(1, threads // k)
    procs = [ctx.Process(target=_process_worker, args=(model_name, steps, device, per, i, barrier, out))
             for i in range(k)]
    for p in procs:
        p.start()
    barrier.wait()
    start = time.time()
    ends = [out.get() for _ in procs]
    for p in procs:
        p.join()
    return k * steps * BATCH / (max(ends) - start)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="lenet5")
    parser.add_argument("--packs", default="1,2,4,8", help="numbers of runs K")
    parser.add_argument("--steps", type=int, default=None, help="steps per run (default: per model)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu",
                        choices=("cpu", "cuda"))
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--ways", default="sequential,processes,packed",
                        help="subset of sequential,processes,packed,packed_graph (CUDA only)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda but no CUDA device is available")
    torch.set_num_threads(args.threads)
    packs = [int(k) for k in args.packs.split(",")]
    ways = [w.strip() for w in args.ways.split(",") if w.strip()]
    if "packed_graph" in ways and args.device != "cuda":
        ways.remove("packed_graph")
        print("packed_graph skipped: CUDA graphs need a GPU")
    print(f"machine: {machine()}; load average before: {load_avg()}", flush=True)
    rows = []
    for name in [m.strip() for m in args.models.split(",") if m.strip()]:
        steps = args.steps or DEFAULT_STEPS[args.device].get(name, 20)
        data, source = bench_data(name, steps * BATCH)
        single = None
        for k in packs:
            row = {"model": name, "data": source, "device": args.device, "k": k, "steps": steps}
            for way in ways:
                if way == "sequential":
                    # K sequential runs take K times one run: measure one run once, reuse it.
                    single = single or time_sequential(name, data, 1, steps, args.device)
                    row[way] = single
                elif way == "processes":
                    row[way] = time_processes(name, k, steps, args.device, args.threads)
                elif way == "packed":
                    row[way] = time_packed(name, data, k, steps, args.device)
                elif way == "packed_graph":
                    row[way] = time_packed(name, data, k, steps, args.device, cuda_graph=True)
            rows.append(row)
            print("  " + ", ".join(f"{k_}={v:.1f}" if isinstance(v, float) else f"{k_}={v}"
                                   for k_, v in row.items()), flush=True)
    print(f"\naggregate training images/s ({args.device})")
    print(f"{'model':<10} {'K':>3} " + " ".join(f"{w:>12}" for w in ways) + "   best")
    for r in rows:
        best = max(ways, key=lambda w: r[w])
        print(f"{r['model']:<10} {r['k']:>3} " + " ".join(f"{r[w]:>12.1f}" for w in ways) + f"   {best}")
    print(f"load average after: {load_avg()}")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "rows": rows}, indent=2))
    return rows


if __name__ == "__main__":
    main()
