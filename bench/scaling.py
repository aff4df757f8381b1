"""Data-parallel scaling (issue 19): training images/s of ONE run at 1, 2, ... ranks, and the
scaling efficiency  (images/s at K ranks) / (K x images/s at 1 rank).

    python bench/scaling.py                                  # CPU: 1 and 2 gloo ranks, lenet5
    python bench/scaling.py --ranks 1,2,4,8 --device cuda --model resnet32 --images 16384

Every K is launched the way a run with K ranks is (torch's elastic agent, static rendezvous on
this machine, `tickets.train.distributed` + DDP inside `tickets.train.train`): the global batch
stays `--batch`, so each rank trains batch/K images per step, as `--ranks-per-run K` would. Each
rank uses `--threads` CPU threads (default 1), so on the CPU K ranks use K cores: efficiency below 1
is then communication (gloo all-reduce of the gradients, overlapped with backward by DDP's buckets)
plus per-step overhead that a smaller per-rank batch no longer amortises. On a shared machine the
CPU figures move with the load; the GPU rows (bench/gpu_check.sh) are the ones that matter.

Timing: `--epochs` timed epochs after one warm-up epoch; the best epoch counts (it includes the
end-of-epoch evaluation on a one-batch test set). Data: random uint8 tensors of the model's input
shape (throughput does not depend on pixel values).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SHAPES = {"lenet5": "synthetic", "lenet300": "synthetic", "resnet32": "cifar10", "vgg19": "cifar10",
          "resnet20": "cifar10"}


def rank_main(spec: dict) -> dict:
    """One rank: build the data and model, train warm-up + timed epochs, return epoch seconds."""
    import torch

    from tickets.config import TrainConfig
    from tickets.data import dataset_info
    from tickets.data.info import TensorData
    from tickets.models import build_model
    from tickets.train import train

    torch.set_num_threads(int(spec["threads"]))
    info = dataset_info(SHAPES.get(spec["model"], "cifar10"))
    gen = torch.Generator().manual_seed(0)
    n, b = int(spec["images"]), int(spec["batch"])
    x = torch.randint(0, 256, (n + b, *info.shape), dtype=torch.uint8, generator=gen)
    y = torch.randint(0, info.num_classes, (n + b,), generator=gen)
    data = TensorData(info, x[:n], y[:n], x[n:], y[n:])
    torch.manual_seed(0)
    model = build_model(spec["model"], info)
    config = TrainConfig(epochs=1 + int(spec["epochs"]), milestones=(), batch_size=b, eval_batch_size=b,
                         augment=False)
    history = train(model, data, config, device=spec["device"], seed=0)
    return {"seconds": [r.seconds for r in history.records][1:]}


def measure(ranks: int, spec: dict) -> float:
    """Images/s of one run trained as `ranks` processes."""
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    from bench.scaling import rank_main as entry  # importable by name in the spawned ranks
    from registry.ranks import free_port

    config = LaunchConfig(min_nodes=1, max_nodes=1, nproc_per_node=ranks, run_id=f"scaling-{ranks}",
                          rdzv_backend="static", rdzv_endpoint=f"127.0.0.1:{free_port()}",
                          rdzv_configs={"rank": 0, "timeout": 300}, max_restarts=0, monitor_interval=0.1,
                          start_method="spawn")
    out = elastic_launch(config, entry)(spec)
    return spec["images"] / min(out[0]["seconds"])


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ranks", default="1,2", help="comma-separated rank counts (default 1,2)")
    parser.add_argument("--model", default="lenet5")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when present)")
    parser.add_argument("--images", type=int, default=None, help="training images per epoch")
    parser.add_argument("--batch", type=int, default=128, help="GLOBAL batch size (split between ranks)")
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs after one warm-up epoch")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads per rank")
    parser.add_argument("--json", help="write the rows to this file")
    args = parser.parse_args(argv)
    import torch

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    counts = [int(k) for k in args.ranks.split(",") if k.strip()]
    if device == "cuda" and max(counts) > torch.cuda.device_count():
        raise SystemExit(f"--ranks {args.ranks} needs {max(counts)} GPUs; this machine has {torch.cuda.device_count()}")
    images = args.images or (4096 if device == "cpu" else 32768)
    spec = {"model": args.model, "device": device, "images": images, "batch": args.batch,
            "epochs": args.epochs, "threads": args.threads}
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    rows, base = [], None
    for k in counts:
        started = time.perf_counter()
        ips = measure(k, spec)
        base = ips if base is None and k == 1 else base
        rows.append({"bench": "scaling", "model": args.model, "device": device, "ranks": k,
                     "global_batch": args.batch, "images_per_second": round(ips, 1),
                     "efficiency": round(ips / (k * base), 3) if base else None,
                     "wall_seconds": round(time.perf_counter() - started, 1)})
    print(f"{'ranks':>5} {'images/s':>10} {'efficiency':>10}   ({args.model}, {device}, global batch {args.batch}, "
          f"{args.threads} thread(s) per rank, load {' '.join(f'{v:.1f}' for v in os.getloadavg())})")
    for r in rows:
        eff = "n/a" if r["efficiency"] is None else f"{r['efficiency']:.2f}"
        print(f"{r['ranks']:>5} {r['images_per_second']:>10.1f} {eff:>10}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    return rows


if __name__ == "__main__":
    main()
