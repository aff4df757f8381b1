"""The masked SGD training loop: one call trains one phase, checkpointing every epoch and
resuming from the newest good checkpoint of that phase.

Determinism: the caller builds (and therefore initialises) the model, so callers seed torch
(`torch.manual_seed`) before building it. `train()` draws the data order and the augmentation from
its own generator seeded with `seed`, and restores the global torch RNG state on resume. On CPU,
the same seed gives bitwise identical metrics and weights, with or without an interruption.

Speed (issues 7, 14): data on the device (see batches.py), channels_last, and as options bf16
autocast or TF32 (`precision`; fp32 by default until a parity measurement says otherwise),
torch.compile, fused SGD; no host synchronisation inside an epoch: loss and accuracy are
summed as device tensors and read once per epoch, and progress callbacks get step counts only.
"""
from __future__ import annotations

import contextlib
import functools
import json
import math
import re
import time
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from registry.atomic import append_jsonl, write_bytes
from registry.errors import UserError

from . import checkpoint as ckpt
from .batches import eval_batches, is_streaming, make_loader, num_test_samples
from .history import Diverged, EpochRecord, History
from .masking import MaskEnforcer, check_mask, masks_equal
from .midepoch import MidEpoch
from .precision import backward_and_step, grad_scaler
from .progress import Progress, StepCallback
from .schedules import loss_options, make_scheduler, param_groups

EpochCallback = Callable[[EpochRecord], None]
PHASE_RE = re.compile(r"^[A-Za-z0-9_-]+$")


def resolve_device(device: Any = None) -> torch.device:
    """None means the GPU when there is one, else the CPU."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def autocast_factory(device: torch.device, precision: str) -> Callable[[], contextlib.AbstractContextManager]:
    """"fp32"/"tf32": no autocast ("tf32" is a backend setting, see backend_settings); "bf16": bf16
    autocast on any device (CPU autocast on the CPU)."""
    if precision not in ("bf16", "fp16"):
        return contextlib.nullcontext
    dtype = torch.float16 if precision == "fp16" else torch.bfloat16  # fp16: with loss scaling (precision.py)
    return functools.partial(torch.autocast, device_type=device.type, dtype=dtype)


@contextlib.contextmanager
def backend_settings(device: torch.device, precision: str = "fp32"):
    """Deterministic algorithms on the CPU (where they cost nothing), cuDNN autotuning on CUDA, and
    TF32 on CUDA only for precision "tf32" (torch lets cuDNN use TF32 by default, which would make
    "fp32" not fp32); the previous global settings come back afterwards."""
    if device.type == "cpu":
        prev, prev_warn = torch.are_deterministic_algorithms_enabled(), \
            torch.is_deterministic_algorithms_warn_only_enabled()
        torch.use_deterministic_algorithms(True, warn_only=True)
        try:
            yield
        finally:
            torch.use_deterministic_algorithms(prev, warn_only=prev_warn)
    elif device.type == "cuda":
        prev = (torch.backends.cudnn.benchmark, torch.backends.cudnn.allow_tf32,
                torch.backends.cuda.matmul.allow_tf32)
        tf32 = precision == "tf32"
        torch.backends.cudnn.benchmark = True
        torch.backends.cudnn.allow_tf32 = tf32
        torch.backends.cuda.matmul.allow_tf32 = tf32
        try:
            yield
        finally:
            (torch.backends.cudnn.benchmark, torch.backends.cudnn.allow_tf32,
             torch.backends.cuda.matmul.allow_tf32) = prev
    else:
        yield


@torch.no_grad()
def evaluate(model: nn.Module, data: Any, device: Any = None, *, batch_size: int = 1000,
             precision: str = "fp32", channels_last: bool = False,
             forward: Callable[[torch.Tensor], torch.Tensor] | None = None,
             loader: str = "reference", top5: bool = False) -> tuple[float, ...]:
    """(mean cross-entropy, accuracy in percent) on the true test set, in eval mode (BN running
    statistics); with `top5`, also the top-5 accuracy in percent. The model's train/eval mode is
    restored afterwards. One host sync at the end. `loader` picks the streaming path's decoder for
    a file-backed dataset (ignored for tensors)."""
    device = resolve_device(device)
    forward = model if forward is None else forward
    autocast = autocast_factory(device, precision)
    was_training = model.training
    model.eval()
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), dtype=torch.long, device=device)
    correct5 = torch.zeros((), dtype=torch.long, device=device)
    try:
        options = {"loader": loader} if is_streaming(data) else {}
        for xb, yb in eval_batches(data, batch_size, device, channels_last, **options):
            with autocast():
                out = forward(xb)
            loss_sum += F.cross_entropy(out.float(), yb, reduction="sum")
            correct += (out.argmax(1) == yb).sum()
            if top5:
                correct5 += top5_hits(out, yb)
    finally:
        model.train(was_training)
    n = max(num_test_samples(data), 1)
    loss, hits, hits5 = torch.stack([loss_sum.double(), correct.double(), correct5.double()]).tolist()
    return (loss / n, 100.0 * hits / n) + ((100.0 * hits5 / n,) if top5 else ())


def top5_hits(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """How many labels are among the 5 highest logits (all of them when there are <= 5 classes)."""
    k = min(5, out.shape[1])
    return (out.topk(k, 1).indices == y[:, None]).any(1).sum()


def train(model: nn.Module, data: Any, config, *, mask: Mapping[str, torch.Tensor] | None = None,
          rundir: str | Path | None = None, phase: str = "train", device: Any = None, seed: int = 0,
          train_view: Any = None, on_epoch: EpochCallback | None = None,
          on_step: StepCallback | None = None, init_state: Mapping[str, torch.Tensor] | None = None,
          snapshot_epochs: Sequence[int] = (), keep_checkpoints: int = 2,
          epoch_end: Callable[[nn.Module, int], None] | None = None) -> History:
    """Train `model` in place for `config.epochs` epochs with SGD + MultiStepLR and return its History.

    - `data`: anything with `info` (mean, std, crop_padding), uint8 `x_train/x_test [N,C,H,W]`,
      int64 `y_train/y_test`. `train_view` (an object with x_train/y_train, or an (x, y) pair)
      replaces the training tensors; the test set is always `data`'s.
    - `mask`: {parameter name: bool tensor}; masked weights are zero at the start and stay exactly
      zero. A resumed phase uses the mask stored in its checkpoint.
    - `rundir`: checkpoints go to `rundir/<phase>/ckpt-NNNN.pt` (newest `keep_checkpoints` kept),
      the starting weights to `weights-0000.pt`, weights after each epoch in `snapshot_epochs` to
      `weights-NNNN.pt`, metrics to `rundir/metrics.jsonl`, a heartbeat to `rundir/progress.json`.
      An existing checkpoint of the phase is resumed; a finished phase returns at once (with the
      final weights loaded into `model`).
    - `init_state`: a state dict loaded into the model before a fresh start (ignored on resume).
    - `epoch_end(model, epoch)` runs after each epoch's optimisation, before its evaluation and
      checkpoint (soft filter pruning zeroes filters there: `tickets.pruning.soft_filter`).
    - `on_epoch(record)` runs after each epoch's checkpoint is written; `on_step(epoch, step,
      steps)` is throttled (~10/s) and gets counts only (no device sync).
    Raises `Diverged` if the training loss becomes NaN/inf (checked once per epoch).
    """
    config = config.validate()
    if not PHASE_RE.match(phase):
        raise UserError(f"phase name {phase!r} must be letters, digits, '_' or '-' (it names a folder)")
    device = resolve_device(device)
    with backend_settings(device, config.precision):
        return _Phase(model, data, config, mask=mask, rundir=rundir, phase=phase, device=device,
                      seed=seed, train_view=train_view, on_epoch=on_epoch, on_step=on_step,
                      init_state=init_state, snapshot_epochs=snapshot_epochs,
                      keep_checkpoints=keep_checkpoints, epoch_end=epoch_end).run()


class _Phase:
    """The state of one `train()` call; methods in the order they run."""

    def __init__(self, model, data, config, *, mask, rundir, phase, device, seed, train_view,
                 on_epoch, on_step, init_state, snapshot_epochs, keep_checkpoints, epoch_end=None):
        self.model, self.data, self.config, self.device = model, data, config, device
        self.epoch_end = epoch_end
        self.rundir = Path(rundir) if rundir is not None else None
        self.phase, self.on_epoch = phase, on_epoch
        self.snapshot_epochs = {int(e) for e in snapshot_epochs}
        self.keep = max(int(keep_checkpoints), 1)
        self.channels_last = config.channels_last
        self.autocast = autocast_factory(device, config.precision)

        model.to(device)
        if self.channels_last:
            model.to(memory_format=torch.channels_last)
        if init_state is not None:
            model.load_state_dict(init_state)
        self.mask = check_mask(model, mask)
        self.held_out = None
        streaming = is_streaming(data)
        if getattr(config, "val_split", 0.0) > 0 and streaming:
            from tickets.train.validation import split_files

            train_view, self.held_out = split_files(data if train_view is None else train_view, config.val_split)
        elif getattr(config, "val_split", 0.0) > 0:  # train on the rest, select epochs on the split
            from tickets.train.batches import training_tensors
            from tickets.train.validation import split

            train_view, self.held_out = split(*training_tensors(data, train_view), config.val_split, data.info)
        options = {"loader": getattr(config, "loader", "reference")} if streaming else {}
        self.loader = make_loader(data, config.batch_size, device=device, augment=config.augment,
                                  train_view=train_view, channels_last=self.channels_last, **options)
        self.midepoch = MidEpoch(config, streaming, self.rundir, phase)
        try:
            fused = {"fused": True} if getattr(config, "fused_sgd", False) else {}
            self.optimizer = torch.optim.SGD(param_groups(model, config), lr=config.lr, momentum=config.momentum,
                                             weight_decay=config.weight_decay, nesterov=config.nesterov, **fused)
        except ValueError as exc:  # e.g. nesterov without momentum, negative weight decay
            raise UserError(f"bad optimiser setting: {exc}") from None
        self.scheduler = make_scheduler(self.optimizer, config)
        self.scaler = grad_scaler(device, config.precision)
        self.loss_options = loss_options(config)
        self.generator = torch.Generator(device=device).manual_seed(int(seed))
        self.records: list[EpochRecord] = []
        self.start_epoch = 0
        self.progress = Progress(self.rundir, phase, config.epochs, on_step)

    # -- start or resume -------------------------------------------------------------------
    def run(self) -> History:
        state = None
        if self.rundir is not None:
            ckpt.remove_stray_temporaries(self.rundir, self.phase)
            state = ckpt.load_latest(self.rundir, self.phase)
            state = self.midepoch.newer_than(state) or state
        if state is not None:
            self._restore(state)
        self.enforcer = MaskEnforcer(self.model, self.mask)
        if state is None:
            self.enforcer.apply()
            if self.rundir is not None:
                ckpt.save_weights(ckpt.weights_path(self.rundir, self.phase, 0), self.model)
        else:
            self.enforcer.mask_optimizer_state(self.optimizer)
            self._repair_snapshot()
        if self.rundir is not None:
            self._sync_metrics()
        self.forward = torch.compile(self.model) if self.config.compile else self.model

        if self.config.epochs == 0:
            loss, acc = self._evaluate()
            return History.untrained(self.phase, loss, acc)
        for epoch in range(self.start_epoch + 1, self.config.epochs + 1):
            self._epoch(epoch)
        return History.from_records(self.phase, self.records, resumed_from=self.start_epoch)

    def _restore(self, state: Mapping[str, Any]) -> None:
        epoch = int(state["epoch"])
        if epoch > self.config.epochs:
            raise UserError(f"{ckpt.checkpoint_path(self.rundir, self.phase, epoch)} is past the "
                            f"configured {self.config.epochs} epochs; use a fresh run directory")
        saved_mask = state.get("mask")
        if self.mask is not None and not masks_equal(saved_mask, self.mask):
            warnings.warn(f"phase {self.phase!r} in {self.rundir} resumes with the mask stored in its "
                          f"checkpoint, which differs from the mask passed in", RuntimeWarning, stacklevel=4)
        self.mask = saved_mask
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        ckpt.restore_scheduler(self.scheduler, state["scheduler"])
        self.generator.set_state(state["generator"])
        if self.scaler is not None and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        torch.set_rng_state(state["torch_rng"])
        if self.device.type == "cuda" and state.get("cuda_rng") is not None:
            torch.cuda.set_rng_state(state["cuda_rng"], self.device)
        self.records = [EpochRecord.from_dict(r) for r in state["records"]]
        self.start_epoch = epoch

    def _repair_snapshot(self) -> None:
        """A kill between a checkpoint and its weight snapshot (older runs wrote them in that
        order) would leave the resumed epoch without the snapshot that rewinding methods load;
        the restored model holds exactly those weights, so write it now."""
        path = ckpt.weights_path(self.rundir, self.phase, self.start_epoch)
        if self.start_epoch in self.snapshot_epochs and not path.exists():
            ckpt.save_weights(path, self.model)

    def _sync_metrics(self) -> None:
        """Make metrics.jsonl hold exactly this phase's records so far (drops lines of epochs past
        the checkpoint we resumed from, restores lines lost between checkpoint and append)."""
        path = self.rundir / "metrics.jsonl"
        lines = path.read_text().splitlines() if path.exists() else []
        kept = []
        for line in lines:
            try:
                if json.loads(line).get("phase") == self.phase:
                    continue
            except ValueError:  # a torn line from a killed writer
                continue
            kept.append(line)
        kept += [json.dumps(r.to_dict(), sort_keys=True) for r in self.records]
        if kept != lines:
            write_bytes(path, "".join(f"{line}\n" for line in kept).encode())

    # -- one epoch -------------------------------------------------------------------------
    def _epoch(self, epoch: int) -> None:
        started = time.perf_counter()
        lr = float(self.optimizer.param_groups[0]["lr"])
        train_loss, train_acc = self._train_pass(epoch)
        if self.epoch_end is not None:
            self.epoch_end(self.model, epoch)
        test_loss, test_acc, test_top5 = self._evaluate(top5=True)
        val_acc = self._evaluate(self.held_out)[1] if self.held_out is not None else None
        self.scheduler.step()
        record = EpochRecord(self.phase, epoch, train_loss, train_acc, test_loss, test_acc, lr,
                             time.perf_counter() - started, val_acc=val_acc, test_top5=test_top5)
        self.records.append(record)
        if self.rundir is not None:
            self._publish(record)
        if self.on_epoch is not None:
            self.on_epoch(record)

    def _train_pass(self, epoch: int) -> tuple[float, float]:
        model, opt, enforcer = self.model, self.optimizer, self.enforcer
        model.train()
        loss_sum = torch.zeros((), device=self.device)
        correct = torch.zeros((), dtype=torch.long, device=self.device)
        first_bad = torch.full((), -1, dtype=torch.long, device=self.device)
        steps = len(self.loader)
        epoch_start = self.generator.get_state()  # what a mid-epoch checkpoint stores (midepoch.py)
        start = 0
        resumed = self.midepoch.take(epoch)
        if resumed is not None:
            start = int(resumed["step"])
            loss_sum, correct, first_bad = (resumed[k].to(self.device) for k in ("loss_sum", "correct", "first_bad"))
        self.progress.write(epoch - 1, start, steps)
        for step, (xb, yb) in enumerate(self.loader.batches(self.generator, start=start), start + 1):
            with self.autocast():
                out = self.forward(xb)
                loss = F.cross_entropy(out, yb, **self.loss_options)
            opt.zero_grad(set_to_none=True)
            backward_and_step(loss, opt, self.scaler, enforcer.mask_grads)
            enforcer.apply()
            batch_loss = loss.detach().float()
            loss_sum += batch_loss * yb.shape[0]
            correct += (out.detach().argmax(1) == yb).sum()
            first_bad = torch.where((first_bad < 0) & ~torch.isfinite(batch_loss), step, first_bad)
            self.progress.step(epoch, step, steps)
            if self.midepoch.due(step, steps):
                self.midepoch.save(self._mid_state(epoch, step, epoch_start, loss_sum, correct, first_bad))
        total, hits, bad = torch.stack([loss_sum.double(), correct.double(), first_bad.double()]).tolist()
        if bad >= 0 or not math.isfinite(total):
            raise Diverged(self.phase, epoch, int(bad) if bad >= 0 else None)
        n = self.loader.num_samples
        return total / n, 100.0 * hits / n

    def _evaluate(self, data: Any = None, top5: bool = False) -> tuple[float, ...]:
        return evaluate(self.model, self.data if data is None else data, self.device, batch_size=self.config.eval_batch_size,
                        precision=self.config.precision, channels_last=self.channels_last,
                        forward=self.forward, loader=getattr(self.config, "loader", "reference"), top5=top5)

    def _publish(self, record: EpochRecord) -> None:
        """metrics line, weight snapshot, then checkpoint (the checkpoint is what marks the epoch
        done, so everything the epoch owes is on disk before it; a crash between the metrics line
        and the checkpoint is repaired on resume), then rotation."""
        epoch = record.epoch
        append_jsonl(self.rundir / "metrics.jsonl", record.to_dict())
        if epoch in self.snapshot_epochs:
            ckpt.save_weights(ckpt.weights_path(self.rundir, self.phase, epoch), self.model)
        ckpt.save(ckpt.checkpoint_path(self.rundir, self.phase, epoch), self._state(epoch))
        ckpt.rotate(self.rundir, self.phase, self.keep)
        self.midepoch.clear()
        self.progress.write(epoch, len(self.loader), len(self.loader))

    def _state(self, epoch: int) -> dict[str, Any]:
        config = asdict(self.config)
        config["milestones"] = list(config["milestones"])
        return {
            "format": 1, "phase": self.phase, "epoch": epoch,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": ckpt.scheduler_state(self.scheduler),
            "generator": self.generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "scaler": self.scaler.state_dict() if self.scaler is not None else None,
            "cuda_rng": torch.cuda.get_rng_state(self.device) if self.device.type == "cuda" else None,
            "mask": self.mask,
            "records": [r.to_dict() for r in self.records],
            "best_test_acc": max((r.test_acc for r in self.records), default=None),
            "config": config,
        }

    def _mid_state(self, epoch: int, step: int, epoch_start: torch.Tensor, loss_sum: torch.Tensor,
                   correct: torch.Tensor, first_bad: torch.Tensor) -> dict[str, Any]:
        """A checkpoint inside `epoch` after `step` steps (tickets/train/midepoch.py)."""
        state = self._state(epoch - 1)
        state["generator"] = epoch_start
        state["mid"] = {"epoch": epoch, "step": step, "loss_sum": loss_sum.detach().cpu(),
                        "correct": correct.detach().cpu(), "first_bad": first_bad.detach().cpu()}
        return state
