"""Throughput calibration: aggregate training images/s of one device for a model, input shape, batch
size, precision and number of runs sharing the device. `tickets study plan` turns these into
projected device-hours (tickets/cost.py).

What is timed is the real engine: `tickets.train.train` for a run of its own (the second of two
epochs over random images of the dataset's shape, so warm-up, cuDNN autotuning and compilation are
not counted; a one-batch test set keeps evaluation out of the figure) or the packed trainer for
`share="packed"`. Image values do not change the speed, so no dataset files are needed.
`share="processes"` with K > 1 starts K such measurements as separate processes at once and sums
their rates (each child reports its own steady-state rate; they overlap for most of their run).

    python -m tickets.train.calibrate --model resnet32 --dataset cifar10 --device cuda:0 --json"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import replace
from typing import Any


def _random_data(dataset: str, images: int, seed: int = 0):
    import torch

    from tickets.data import dataset_info
    from tickets.data.info import TensorData

    info = dataset_info(dataset)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (images, *info.shape), generator=gen, dtype=torch.uint8)
    y = torch.randint(0, info.num_classes, (images,), generator=gen)
    return TensorData(info, x, y, x[: min(images, 256)], y[: min(images, 256)])


def _config(dataset: str, batch_size: int, precision: str, **speed: Any):
    from tickets.config import defaults_for

    return replace(defaults_for(dataset), epochs=2, milestones=(), batch_size=batch_size,
                   eval_batch_size=256, precision=precision, **speed)


def measure_one(model: str, dataset: str, *, device: str, runs: int = 1, share: str = "processes",
                batch_size: int = 64, precision: str = "fp32", steps: int = 50, **speed: Any) -> float:
    """Aggregate training images/s of `runs` runs in this process (one engine run, or one pack)."""
    import torch

    from tickets.models import build_model
    from tickets.train import train
    from tickets.train.packed import train_packed

    data = _random_data(dataset, batch_size * steps)
    config = _config(dataset, batch_size, precision, **speed)
    if runs == 1 and share != "packed":
        torch.manual_seed(0)
        net = build_model(model, data.info)
        history = train(net, data, config, device=device, seed=0)
        return batch_size * steps / history.records[-1].seconds
    nets = []
    for k in range(runs):
        torch.manual_seed(k)
        nets.append(build_model(model, data.info))
    warm = train_packed(nets, data, replace(config, epochs=1), device=device, max_steps=3, evaluate=False)
    del warm
    nets = []
    for k in range(runs):
        torch.manual_seed(k)
        nets.append(build_model(model, data.info))
    result = train_packed(nets, data, replace(config, epochs=1), device=device, evaluate=False)
    return result.images_per_second


def device_name(device: str) -> str:
    import torch

    dev = torch.device(device)
    if dev.type == "cuda":
        return torch.cuda.get_device_name(dev)
    return "cpu"


def calibrate(model: str, dataset: str, *, device: str = "cpu", runs: int = 1, share: str = "processes",
              batch_size: int = 64, precision: str = "fp32", steps: int = 50, **speed: Any) -> dict[str, Any]:
    """One calibration entry (see tickets/cost.py) measured on `device`."""
    from tickets.data import dataset_info
    from tickets.train.runtime import runtime_info

    started = time.time()
    if share == "processes" and runs > 1:
        rates = _in_processes(model, dataset, device=device, runs=runs, batch_size=batch_size,
                              precision=precision, steps=steps, **speed)
    else:
        rates = [measure_one(model, dataset, device=device, runs=runs, share=share, batch_size=batch_size,
                             precision=precision, steps=steps, **speed)]
    info = runtime_info(device)
    total = float(sum(rates))
    return {"model": model, "dataset": dataset, "shape": dataset_info(dataset).describe_shape(),
            "batch_size": batch_size, "device_name": device_name(device), "device": info["device"],
            "runs": runs, "share": share, "precision": precision, "images_per_second": total,
            "per_run_images_per_second": total / runs, "steps": steps, "speed": speed,
            "torch_version": info["torch_version"], "cuda_version": info["cuda_version"],
            "threads": info["threads"], "seconds": time.time() - started}


def _in_processes(model: str, dataset: str, *, device: str, runs: int, batch_size: int, precision: str,
                  steps: int, **speed: Any) -> list[float]:
    """K measurements as K processes at once; threads split between them on the CPU."""
    import torch

    args = [sys.executable, "-m", "tickets.train.calibrate", "--model", model, "--dataset", dataset,
            "--device", device, "--batch-size", str(batch_size), "--precision", precision, "--steps", str(steps),
            "--speed", json.dumps(speed)]
    env = dict(os.environ)
    if torch.device(device).type == "cpu":
        env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // runs))
    procs = [subprocess.Popen(args, env=env, stdout=subprocess.PIPE, text=True) for _ in range(runs)]
    rates = []
    for proc in procs:
        out, _ = proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"a calibration process failed with status {proc.returncode}")
        rates.append(float(json.loads(out.strip().splitlines()[-1])["images_per_second"]))
    return rates


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="one run's training images/s (used by tickets calibrate)")
    parser.add_argument("--model", required=True)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--precision", default="fp32")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--speed", default="{}", help="JSON of speed options (channels_last, compile, fused_sgd)")
    args = parser.parse_args(argv)
    rate = measure_one(args.model, args.dataset, device=args.device, batch_size=args.batch_size,
                       precision=args.precision, steps=args.steps, **json.loads(args.speed))
    print(json.dumps({"images_per_second": rate}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
