"""GPU worker slots: which GPUs a local sweep may use, and how many runs share each one.

`--gpus 0,1` is checked before anything is planned or written: on a machine without CUDA, or with
ids it does not have, the sweep stops with one line instead of silently training on the CPU.

Sharing a GPU (`runs_per_gpu = K`):
- `share="processes"` (the provisional default): K worker processes per GPU, each seeing only its
  GPU through CUDA_VISIBLE_DEVICES. Without CUDA MPS their kernels time-slice; with MPS they run
  concurrently. Start MPS once per machine before the sweep (and stop it after):

      export CUDA_MPS_PIPE_DIRECTORY=/tmp/mps-pipe CUDA_MPS_LOG_DIRECTORY=/tmp/mps-log
      nvidia-cuda-mps-control -d          # start;  `echo quit | nvidia-cuda-mps-control` stops it

  Workers inherit the two variables from the environment of `tickets study run`.
- `share="packed"`: one worker process per GPU that trains up to K stages of one architecture and
  schedule as one stacked model (`tickets.train.packed`); the scheduler forms the packs.

Which of the two is faster per GPU is a measurement (`bench/gpu_check.sh`); until it has been made
on a GPU the default stays "processes", the mode that changes nothing about how a run is computed.

Only this module looks at CUDA here, and it imports torch lazily: the registry stays domain-free."""
from __future__ import annotations

import os
from typing import Callable, Sequence

from registry.errors import UserError

SHARE_MODES = ("processes", "packed")
DEFAULT_SHARE = "processes"  # provisional: not yet measured on a GPU (see bench/README.md)


def cuda_devices() -> tuple[int, str]:
    """(how many CUDA devices this process sees, why none when 0). torch is asked without creating
    a CUDA context, so worker processes started later are unaffected."""
    try:
        import torch
    except ImportError:
        return 0, "torch is not installed"
    if not torch.cuda.is_available():
        build = torch.version.cuda
        why = (f"torch {torch.__version__} is built without CUDA" if not build
               else f"torch {torch.__version__} (CUDA {build}) finds no usable GPU or driver")
        return 0, why
    return torch.cuda.device_count(), ""


def parse_gpus(value: str | Sequence[str] | None) -> list[str] | None:
    """"0,1", "0-1" or ["0", "1"] -> ["0", "1"]; ids must be non-negative integers, each once."""
    if value is None or value == "" or value == []:
        return None
    items = [g.strip() for g in (value.split(",") if isinstance(value, str) else map(str, value))]
    items = [g for g in items if g]
    items = [str(i) for g in items for i in (_span(g) if "-" in g else [g])]
    if not items:
        raise UserError(f"--gpus {value!r}: give device ids like 0,1")
    for g in items:
        if not g.isdigit():
            raise UserError(f"--gpus: {g!r} is not a GPU id; give non-negative integers like 0,1")
    dupes = sorted({g for g in items if items.count(g) > 1})
    if dupes:
        raise UserError(f"--gpus: GPU {dupes[0]} is listed twice; use --runs-per-gpu to share a GPU")
    return items


def _span(text: str) -> list[str]:
    """"0-3" -> ["0", "1", "2", "3"] (as `--gpus 0-7` is usually written)."""
    lo, _, hi = text.partition("-")
    if not (lo.strip().isdigit() and hi.strip().isdigit()) or int(lo) > int(hi):
        raise UserError(f"--gpus: {text!r} is not a GPU range; give e.g. 0-3 or 0,1")
    return [str(i) for i in range(int(lo), int(hi) + 1)]


def check_gpus(gpus: Sequence[str], devices: Callable[[], tuple[int, str]] | None = None) -> None:
    """Refuse GPU ids this machine does not have, in one line (nothing has started yet)."""
    count, why = (devices or cuda_devices)()
    if count == 0:
        raise UserError(f"--gpus {','.join(gpus)}: CUDA is not available here ({why}); "
                        f"leave out --gpus to train on the CPU")
    missing = [g for g in gpus if int(g) >= count]
    if missing:
        raise UserError(f"--gpus: GPU {missing[0]} does not exist; this machine has {count} "
                        f"(ids 0-{count - 1})")


def physical_id(gpu: str, visible: str | None = None) -> str:
    """The id to put in a worker's CUDA_VISIBLE_DEVICES: `--gpus` ids count the GPUs this process
    sees, so under CUDA_VISIBLE_DEVICES=2,3 the id 0 means device 2."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES") if visible is None else visible
    if visible:
        seen = [v.strip() for v in visible.split(",") if v.strip()]
        if int(gpu) < len(seen):
            return seen[int(gpu)]
    return gpu


def gpu_groups(gpus: Sequence[str], gpus_per_run: int = 1) -> list[list[str]]:
    """`--gpus 0-7 --gpus-per-run 4` -> [[0..3], [4..7]]: one run's ranks per group (registry/ranks.py)."""
    per = int(gpus_per_run)
    if per < 1:
        raise UserError(f"--gpus-per-run must be at least 1, got {gpus_per_run}")
    if len(gpus) % per:
        raise UserError(f"--gpus-per-run {per} does not divide the {len(gpus)} GPUs of --gpus "
                        f"{','.join(gpus)}; give a multiple of {per} GPUs")
    return [list(gpus[i:i + per]) for i in range(0, len(gpus), per)]


def gpu_slots(gpus: Sequence[str], runs_per_gpu: int = 1, share: str = DEFAULT_SHARE,
              cpu_count: int | None = None, gpus_per_run: int = 1) -> list[dict[str, str]]:
    """Environment overrides of each worker slot: K per GPU in "processes" mode, one per GPU in
    "packed" mode (that worker trains packs of up to K stages). CPU threads are split between the
    slots so K workers on one machine do not each claim every core for their host-side work.
    With `gpus_per_run` G > 1 a slot is a group of G GPUs whose run trains as G ranks (DDP); K
    runs share each group."""
    if share not in SHARE_MODES:
        raise UserError(f"unknown sharing mode {share!r}; known: {', '.join(SHARE_MODES)}")
    if int(runs_per_gpu) < 1:
        raise UserError(f"--runs-per-gpu must be at least 1, got {runs_per_gpu}")
    groups = gpu_groups(gpus, gpus_per_run)
    if int(gpus_per_run) > 1 and share == "packed":
        raise UserError("--share packed trains several runs in one process on one GPU; it cannot be "
                        "combined with --gpus-per-run > 1 (one run across several GPUs)")
    per_gpu = int(runs_per_gpu) if share == "processes" else 1
    slots = [{"CUDA_VISIBLE_DEVICES": ",".join(physical_id(g) for g in group)} for group in groups
             for _ in range(per_gpu)]
    if int(gpus_per_run) > 1:
        from registry.ranks import ENV_RANKS

        for slot in slots:
            slot[ENV_RANKS] = str(int(gpus_per_run))
    cores = cpu_count if cpu_count is not None else (os.cpu_count() or 1)
    threads = os.environ.get("OMP_NUM_THREADS") or str(max(1, cores // (len(slots) * int(gpus_per_run))))
    for slot in slots:
        slot["OMP_NUM_THREADS"] = threads
    return slots
