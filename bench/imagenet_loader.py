"""Images/s of the streaming loaders (issue 18) against a synthetic-data upper bound, per worker count.

    python bench/imagenet_loader.py                         # CPU: a written JPEG tree, tiny network
    python bench/imagenet_loader.py --device cuda --model resnet50 --workers 4,8,16
    python bench/imagenet_loader.py --root /data/imagenet   # a real ImageNet copy (its train/ split)

Rows, all measured in this run on the same network and batch size:
- `synthetic`: training steps on random uint8 batches already on the device (normalised there):
  what the network can do when data costs nothing, the upper bound;
- `reference` / `gpu` at each worker count: training steps fed by StreamingLoader
  (tickets/train/streaming.py) with that decoder, and the loader alone (no network: `load img/s`).
`ratio` = train img/s / synthetic img/s: 1.0 means the loader is not the bottleneck (target on one
H100/H200 with ResNet-50: >= 0.9 and >= 3,000 img/s). The written tree has ImageNet-sized JPEGs
(500x375, quality 90) so decode cost is realistic. `--smoke` runs every path in seconds."""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def write_tree(folder: Path, images: int, classes: int, size: tuple[int, int]) -> None:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (size[1] // 8, size[0] // 8, 3), dtype=np.uint8)
    for i in range(images):
        c = i % classes
        (folder / "train" / f"n{c:08d}").mkdir(parents=True, exist_ok=True)
        (folder / "val" / f"n{c:08d}").mkdir(parents=True, exist_ok=True)
        # smooth image + noise: compresses like a photo, not like white noise
        img = Image.fromarray(np.roll(base, i, axis=1)).resize(size, Image.BILINEAR)
        arr = np.clip(np.asarray(img).astype(np.int16) + rng.integers(-12, 13, (size[1], size[0], 3)), 0, 255)
        Image.fromarray(arr.astype(np.uint8)).save(folder / "train" / f"n{c:08d}" / f"{i}.JPEG", quality=90)
    Image.fromarray(base).save(folder / "val" / "n00000000" / "0.JPEG")


def build(model: str, num_classes: int, device):
    import torch
    from torch import nn

    if model == "tiny":
        net = nn.Sequential(nn.Conv2d(3, 8, 7, stride=4), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                            nn.Linear(8, num_classes))
    else:
        import torchvision

        net = getattr(torchvision.models, model)(num_classes=num_classes)
    return net.to(device).to(memory_format=torch.channels_last)


def train_rate(net, batches, steps: int, device, amp: bool) -> float:
    """Images/s of `steps` SGD steps over `batches` (an iterator of normalised (x, y)), after 2 warm-up."""
    import torch
    import torch.nn.functional as F

    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    ctx = (lambda: torch.autocast(device.type, dtype=torch.bfloat16)) if amp else None
    seen, started = 0, None
    for i, (x, y) in enumerate(batches):
        if i == 2:
            if device.type == "cuda":
                torch.cuda.synchronize()
            started, seen = time.perf_counter(), 0
        if i >= steps + 2:
            break
        if ctx is not None:
            with ctx():
                loss = F.cross_entropy(net(x), y)
        else:
            loss = F.cross_entropy(net(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        seen += len(y)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return seen / max(time.perf_counter() - started, 1e-9)


def load_rate(batches, steps: int, device) -> float:
    import torch

    seen, started = 0, None
    for i, (x, y) in enumerate(batches):
        if i == 2:
            if device.type == "cuda":
                torch.cuda.synchronize()
            started, seen = time.perf_counter(), 0
        if i >= steps + 2:
            break
        seen += len(y)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return seen / max(time.perf_counter() - started, 1e-9)


def synthetic(batch: int, size: int, classes: int, device):
    import torch

    from tickets.train.batches import normalise, normaliser

    scale, shift = normaliser(type("I", (), {"mean": (0.485, 0.456, 0.406), "std": (0.229, 0.224, 0.225)}), device)
    x = torch.randint(0, 256, (batch, 3, size, size), dtype=torch.uint8, device=device)
    y = torch.randint(0, classes, (batch,), device=device)
    while True:
        yield normalise(x, scale, shift, True), y


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default=None)
    parser.add_argument("--model", default=None, help="tiny (CPU default) or a torchvision model (cuda: resnet50)")
    parser.add_argument("--root", default=None, help="an ImageNet-layout folder (default: write a tree)")
    parser.add_argument("--images", type=int, default=None)
    parser.add_argument("--batch", type=int, default=None)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--workers", default=None, help="comma-separated worker counts")
    parser.add_argument("--loaders", default="reference,gpu")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--smoke", action="store_true", help="every path in seconds (figures mean nothing)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)

    import torch

    from tickets.data.imagenet import register_imagenet_like, scan_imagenet
    from tickets.train.streaming import StreamingLoader

    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    cuda = device.type == "cuda"
    model = args.model or ("resnet50" if cuda else "tiny")
    batch = args.batch or (256 if cuda else 32)
    steps = args.steps or (3 if args.smoke else (30 if cuda else 8))
    workers = [int(w) for w in (args.workers or ("0" if args.smoke else ("4,8,16" if cuda else "0,1,2"))).split(",")]
    size = 32 if args.smoke else args.size
    images = args.images or batch * (steps + 3)
    classes = 10

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.root) if args.root else Path(tmp) / "tree"
        if not args.root:
            write_tree(root, images, classes, (64, 48) if args.smoke else (500, 375))
        info = register_imagenet_like("bench_imagenet", size=size, num_classes=1000, replace=True)
        data = scan_imagenet(root, info)
        net = build(model, 1000, device)
        amp = cuda
        rows = []
        bound = train_rate(net, synthetic(batch, size, 1000, device), steps, device, amp)
        rows.append({"loader": "synthetic", "workers": "-", "load_img_s": None, "train_img_s": bound, "ratio": 1.0})
        for loader in args.loaders.split(","):
            for w in workers:
                def stream(seed=0):
                    sl = StreamingLoader(data, batch, device=device, num_workers=w, loader=loader, channels_last=True)
                    g = torch.Generator(device=device).manual_seed(seed)
                    while True:  # epochs back to back
                        yield from sl.batches(g)

                load = load_rate(stream(), steps, device)
                rate = train_rate(net, stream(1), steps, device, amp)
                rows.append({"loader": loader, "workers": w, "load_img_s": load, "train_img_s": rate,
                             "ratio": rate / bound})
    title = (f"imagenet_loader on {torch.cuda.get_device_name(device) if cuda else 'CPU'} "
             f"({os.cpu_count()} CPUs): {model}, batch {batch}, {size}px crops, {steps} timed steps"
             f"{', SMOKE (figures mean nothing)' if args.smoke else ''}")
    print(title)
    print(f"{'loader':<10} {'workers':>7} {'load img/s':>11} {'train img/s':>12} {'ratio':>6}")
    for r in rows:
        load = f"{r['load_img_s']:,.0f}" if r["load_img_s"] is not None else "-"
        print(f"{r['loader']:<10} {str(r['workers']):>7} {load:>11} {r['train_img_s']:>12,.0f} {r['ratio']:>6.2f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"title": title, "rows": rows}, indent=1))
    return rows


if __name__ == "__main__":
    main()
