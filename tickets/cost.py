"""Cost before you spend it: the training work of a study's missing stages and, where a throughput
calibration exists, the projected device-hours.

Work of a stage = its training epochs x (training images + test images / 3): every epoch evaluates
the test set, and a forward pass costs about a third of a training step. Epochs per method: the
stage's schedule; `imp` trains `rounds` times (R-1 intermediate rounds and the final retraining);
`wr` retrains the epochs after its rewind point; `scratch_b` (and a structured method's
`retrain="scratch_b"`) at most `max_scale` times (its FLOPs ratio is known only after pruning, so
the projection takes the cap: an upper bound), except `predefined` architectures, whose ratio is
known at plan time. ImageNet-scale inputs also get the training compute in multiply-accumulates.
The other `retrain` pipelines of the Rethinking methods: finetune the fine-tuning schedule's epochs,
soft (soft filter pruning's result, only evaluated) none.

Calibrations (`tickets calibrate`, tickets/train/calibrate.py) live in `<home>/calibration.json`, one
entry per (model, input shape, batch size, device, runs per device, sharing mode, precision), each
holding the aggregate training images/s of one device with that many runs sharing it. A projection
for a device and sharing setting needs an entry for every (model, input shape, batch size) of the
missing stages; GPU-hours = work / aggregate images/s / 3600."""
from __future__ import annotations

import functools
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

CALIBRATION_FILE = "calibration.json"
EVAL_COST = 1 / 3  # a test image costs a third of a training image (forward only)

# (training images, test images) of the datasets whose files may not be on this machine.
SPLIT_SIZES = {"cifar10": (50_000, 10_000), "cifar100": (50_000, 10_000), "tinyimagenet": (100_000, 10_000),
               "mnist": (60_000, 10_000), "fashionmnist": (60_000, 10_000), "svhn": (73_257, 26_032),
               "imagenet": (1_281_167, 50_000)}  # ILSVRC-2012 train / val
# Inputs at least this large get a compute estimate (multiply-accumulates of the network at the
# dataset's resolution, e.g. 4.1 G per 224 px image for ResNet-50): building the network to count
# costs a second or two, which small-image plans need not pay.
COMPUTE_MIN_SIZE = 128
TRAIN_COST = 3  # a training image costs about three forward passes (forward + backward)


def gpu_visible() -> bool:
    """Whether this machine shows an NVIDIA GPU to this process, without importing torch: the
    driver's /proc entries (or /dev/nvidia0), unless CUDA_VISIBLE_DEVICES hides every device."""
    import os

    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        return False
    gpus = "/proc/driver/nvidia/gpus"
    return (os.path.isdir(gpus) and bool(os.listdir(gpus))) or os.path.exists("/dev/nvidia0")


def split_sizes(dataset: str) -> tuple[int, int] | None:
    """(train, test) image counts: known sizes, else counted from the local copy, else None."""
    if dataset in SPLIT_SIZES:
        return SPLIT_SIZES[dataset]
    from tickets.data.base import locate

    if locate(dataset) is None:
        return None
    from tickets.data import load_dataset

    data = load_dataset(dataset)
    if getattr(data, "streaming", False):  # file-backed: count files, build no label tensor
        return data.num_train, data.num_test
    return len(data.y_train), len(data.y_test)


def stage_epochs(spec: Mapping[str, Any]) -> tuple[int, bool]:
    """(training epochs of a stage, whether that is an upper bound)."""
    epochs = int(spec["train"]["epochs"])
    method = spec.get("method") or {}
    name = method.get("name")
    if name == "imp":
        return epochs * int(method.get("rounds", 1)), False
    if name == "wr":
        return epochs - int(method.get("rewind_epoch", 0)), False
    if name == "scratch_b" or method.get("retrain") == "scratch_b":  # the structured pipelines' too
        if name == "predefined" and method.get("arch"):  # a published architecture: its FLOPs ratio is known
            return _predefined_scratch_b(spec, epochs, float(method.get("max_scale", 2.0))), False
        return int(math.ceil(epochs * float(method.get("max_scale", 2.0)))), True
    # the `retrain` pipelines of Rethinking's methods (structured, weight_level, sfp)
    retrain = method.get("retrain")
    if retrain == "finetune" and spec.get("retrain"):
        return int(spec["retrain"]["epochs"]), False
    if retrain == "soft":  # soft filter pruning's own result: evaluated, not trained
        return 0, False
    return epochs, False


def trained_network(spec: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """(model, options) of the network a stage trains: a `predefined` stage's published architecture,
    else the cell's network (for other structured methods the unpruned one: an upper bound)."""
    options = dict(spec.get("model_options") or {})
    method = spec.get("method") or {}
    if method.get("name") == "predefined" and method.get("arch"):
        from tickets.pruning.structured.imagenet_presets import preset_options

        options.update(preset_options(method["arch"]))
    return spec["model"], options


def _predefined_scratch_b(spec: Mapping[str, Any], epochs: int, max_scale: float) -> int:
    from tickets.pruning.structured.methods import scratch_b_epochs

    model, small = trained_network(spec)
    dense = forward_macs(model, json.dumps(spec.get("model_options") or {}, sort_keys=True), spec["dataset"])
    return scratch_b_epochs(epochs, dense, forward_macs(model, json.dumps(small, sort_keys=True), spec["dataset"]),
                            max_scale)


def calibration_key(model: str, shape: str, batch_size: int, device: str, runs: int, share: str,
                    precision: str) -> str:
    return f"{model}|{shape}|b{batch_size}|{device}|{runs}x{share}|{precision}"


@dataclass(frozen=True)
class Work:
    """The missing training of one (model, input shape, batch size, precision)."""

    model: str
    shape: str
    batch_size: int
    precision: str
    dataset: str  # one dataset of this shape (for the calibrate command to name)
    stages: int
    epochs: int
    images: float  # training-image equivalents (train + test/3 per epoch)
    upper_bound: bool
    macs: float = math.nan  # multiply-accumulates of the training (3 x forward per train image, 1 x per test image)


def training_work(stages: Iterable[Any]) -> tuple[list[Work], list[str]]:
    """Work per (model, shape, batch size, precision) of `stages` (registry Stage objects or their
    spec dicts), and the datasets whose size is unknown here (their stages count epochs only)."""
    from tickets.data import dataset_info

    groups: dict[tuple, list] = {}
    first: dict[tuple, str] = {}
    unknown: set[str] = set()
    for stage in stages:
        spec = stage.spec if hasattr(stage, "spec") else stage["spec"]
        if stage_kind(stage) == "eval" or "train" not in spec:  # evaluations train nothing
            continue
        info = dataset_info(spec["dataset"])
        train = spec["train"]
        key = (spec["model"], info.describe_shape(), int(train["batch_size"]), str(train.get("precision", "fp32")))
        epochs, bound = stage_epochs(spec)
        sizes = split_sizes(spec["dataset"])
        if sizes is None:
            unknown.add(spec["dataset"])
            per_epoch = math.nan
        else:
            n_train, n_test = sizes
            if spec.get("data_check") in ("half_data", "half_data_seed") and stage_kind(stage) == "pretrain":
                n_train //= 2
            per_epoch = n_train + EVAL_COST * n_test
        macs = math.nan
        if sizes is not None and info.size >= COMPUTE_MIN_SIZE:
            model, options = trained_network(spec)
            forward = forward_macs(model, json.dumps(options, sort_keys=True), spec["dataset"])
            macs = epochs * forward * (TRAIN_COST * n_train + n_test)
        groups.setdefault(key, []).append((epochs, epochs * per_epoch, bound, macs))
        first.setdefault(key, spec["dataset"])
    work = [Work(model, shape, batch, precision, first[(model, shape, batch, precision)], len(items),
                 sum(e for e, _, _, _ in items), sum(i for _, i, _, _ in items), any(b for _, _, b, _ in items),
                 sum(m for _, _, _, m in items))
            for (model, shape, batch, precision), items in groups.items()]
    return work, sorted(unknown)


@functools.lru_cache(maxsize=32)
def forward_macs(model: str, options_json: str, dataset: str) -> int:
    """Multiply-accumulates of one forward pass of the (unpruned) network on one image of `dataset`
    (tickets/pruning/structured/cost.py's convention), built on the CPU with the global RNG restored."""
    import torch

    from tickets.data import dataset_info
    from tickets.models import build_model
    from tickets.pruning.structured.cost import count

    info = dataset_info(dataset)
    state = torch.random.get_rng_state()
    try:
        return count(build_model(model, info, **json.loads(options_json)), info.shape)["flops"]
    finally:
        torch.random.set_rng_state(state)


def stage_kind(stage: Any) -> str:
    return stage.kind if hasattr(stage, "kind") else stage["kind"]


# ----------------------------------------------------------------------------------- calibrations

def load_calibrations(home: str | Path) -> dict[str, dict[str, Any]]:
    path = Path(home) / CALIBRATION_FILE
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def save_calibration(home: str | Path, entry: Mapping[str, Any]) -> str:
    """Add or replace one measurement (atomically); returns its key."""
    from registry.atomic import write_json

    key = calibration_key(entry["model"], entry["shape"], int(entry["batch_size"]), entry["device_name"],
                          int(entry["runs"]), entry["share"], entry["precision"])
    data = load_calibrations(home)
    data[key] = {**dict(entry), "measured_at": time.time()}
    Path(home).mkdir(parents=True, exist_ok=True)
    write_json(Path(home) / CALIBRATION_FILE, data)
    return key


@dataclass(frozen=True)
class Projection:
    device_name: str
    runs: int
    share: str
    hours: float  # device-hours
    stages: int
    upper_bound: bool


def project(work: Sequence[Work], calibrations: Mapping[str, Mapping[str, Any]]) -> tuple[list[Projection], list[Work]]:
    """One projection per (device, runs per device, sharing) whose calibrations cover every work
    group, and the work groups no calibration covers at all."""
    settings = {(c["device_name"], int(c["runs"]), c["share"]) for c in calibrations.values()}
    out, covered = [], set()
    for device, runs, share in sorted(settings):
        seconds, complete = 0.0, True
        for w in work:
            entry = calibrations.get(calibration_key(w.model, w.shape, w.batch_size, device, runs, share, w.precision))
            if entry is None or not entry.get("images_per_second"):
                complete = False
                continue
            covered.add(w)
            seconds += w.images / float(entry["images_per_second"])
        if complete and work and math.isfinite(seconds):
            out.append(Projection(device, runs, share, seconds / 3600, sum(w.stages for w in work),
                                  any(w.upper_bound for w in work)))
    out.sort(key=lambda p: p.hours)
    return out, [w for w in work if w not in covered]


def describe(projection: Projection) -> str:
    """"156 stages, ≈ 8.4 GPU-hours on 1 × NVIDIA H100 80GB HBM3 at 4 runs per GPU (packed)"."""
    unit = "CPU" if projection.device_name.lower().startswith("cpu") else "GPU"
    bound = "≤ " if projection.upper_bound else "≈ "
    return (f"{projection.stages} stages, {bound}{projection.hours:,.1f} {unit}-hours on 1 × {projection.device_name} "
            f"at {projection.runs} run{'s' if projection.runs != 1 else ''} per {unit} ({projection.share})")
