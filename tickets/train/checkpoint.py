"""Epoch checkpoints and weight snapshots inside a run directory.

Layout for one phase (e.g. "pretrain", "retrain"):

    rundir/<phase>/ckpt-0003.pt      full training state after epoch 3 (the last two are kept)
    rundir/<phase>/weights-0000.pt   model state the phase started from (after the mask was applied)
    rundir/<phase>/weights-0005.pt   model state after epoch 5, for each requested snapshot epoch

Every file is written to a temporary name and renamed (registry.atomic), and everything in it is
plain tensors, numbers, strings, lists and dicts so it loads with `torch.load(weights_only=True)`.
A checkpoint that fails to load (truncated by a crash, corrupted on disk) is renamed to
`*.corrupt` with a warning and the next older one is tried."""
from __future__ import annotations

import re
import warnings
from collections import Counter
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import nn

from registry.atomic import write_atomic

CKPT_RE = re.compile(r"^ckpt-(\d+)\.pt$")
REQUIRED = ("epoch", "model", "optimizer", "scheduler", "generator", "torch_rng", "records")


def phase_dir(rundir: str | Path, phase: str) -> Path:
    return Path(rundir) / phase


def checkpoint_path(rundir: str | Path, phase: str, epoch: int) -> Path:
    return phase_dir(rundir, phase) / f"ckpt-{epoch:04d}.pt"


def weights_path(rundir: str | Path, phase: str, epoch: int) -> Path:
    """Where the weight snapshot of `phase` after `epoch` epochs lives (0 = the starting weights)."""
    return phase_dir(rundir, phase) / f"weights-{epoch:04d}.pt"


def list_checkpoints(rundir: str | Path, phase: str) -> list[tuple[int, Path]]:
    """(epoch, path) of every checkpoint file of the phase, oldest first."""
    folder = phase_dir(rundir, phase)
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := CKPT_RE.match(p.name))]
    return sorted(found)


def save(path: Path, obj: Any) -> Path:
    return write_atomic(path, lambda fh: torch.save(obj, fh))


def snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    """A CPU copy of the model's state (weights, buffers), independent of further training."""
    return {k: v.detach().to("cpu", copy=True).contiguous() for k, v in model.state_dict().items()}


def save_weights(path: str | Path, model_or_state: nn.Module | Mapping[str, torch.Tensor]) -> Path:
    state = snapshot(model_or_state) if isinstance(model_or_state, nn.Module) else dict(model_or_state)
    return save(Path(path), state)


def load_weights(path: str | Path) -> dict[str, torch.Tensor]:
    return torch.load(path, map_location="cpu", weights_only=True)


def scheduler_state(scheduler: torch.optim.lr_scheduler.LRScheduler) -> dict[str, Any]:
    """MultiStepLR keeps its milestones in a Counter, which weights_only loading refuses: store a dict."""
    return {k: dict(v) if isinstance(v, Counter) else v for k, v in scheduler.state_dict().items()}


def restore_scheduler(scheduler: torch.optim.lr_scheduler.LRScheduler, state: Mapping[str, Any]) -> None:
    state = dict(state)
    if isinstance(state.get("milestones"), dict):
        state["milestones"] = Counter(state["milestones"])
    scheduler.load_state_dict(state)


def load_latest(rundir: str | Path, phase: str) -> dict[str, Any] | None:
    """The newest checkpoint of the phase that loads and is complete, or None. Bad files are
    renamed to `<name>.corrupt` with a warning naming them, so later rotation ignores them."""
    for epoch, path in reversed(list_checkpoints(rundir, phase)):
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            missing = [k for k in REQUIRED if k not in state]
            if missing:
                raise ValueError(f"missing {', '.join(missing)}")
            if int(state["epoch"]) != epoch:
                raise ValueError(f"holds epoch {state['epoch']}, not {epoch}")
        except Exception as exc:  # truncated zip, unpickling error, wrong content: all mean "bad"
            warnings.warn(f"checkpoint {path} is unreadable ({type(exc).__name__}: {exc}); "
                          f"falling back to the previous one", RuntimeWarning, stacklevel=2)
            path.replace(path.with_name(path.name + ".corrupt"))
            continue
        return state
    return None


def remove_stray_temporaries(rundir: str | Path, phase: str) -> None:
    """Temporaries left by a writer killed mid-write (registry.atomic names them `.<name>.*.tmp`)."""
    folder = phase_dir(rundir, phase)
    if folder.is_dir():
        for path in folder.glob(".*.tmp"):
            path.unlink(missing_ok=True)


def rotate(rundir: str | Path, phase: str, keep: int = 2) -> None:
    """Delete all but the newest `keep` checkpoints of the phase."""
    for _, path in list_checkpoints(rundir, phase)[:-keep] if keep > 0 else []:
        path.unlink(missing_ok=True)
