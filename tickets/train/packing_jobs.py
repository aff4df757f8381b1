"""Packed stages: several stages of one architecture and schedule trained as one stacked model
(`tickets.train.packed`) inside one worker, each stage ending with exactly the files and result its
separate run would leave.

How a pack runs (members in order):
1. Each member's recipe runs as usual (`TicketsDomain.run`) up to its training call, which is captured
   instead of run: the model at its starting weights, the mask after any mask check, the config,
   the data-order seed. Pruning steps (scores, masks) are each member's own and are saved in its run
   directory as always (mask.pt).
2. The captured trainings run together: one `PackedTrainer` with one data-order generator per member
   seeded as the engine seeds it, so member k gets the batches and augmentation draws of its own run.
   Per epoch each member gets its metrics line, its weight snapshots and its progress report; after
   the last epoch a checkpoint in the engine's format (tickets/train/loop.py) marks its phase finished.
3. Each member's recipe runs again: the pruning step loads mask.pt, the engine finds the finished
   phase and returns its History, and the domain assembles result.json exactly as for a separate run.

What packing may change: only floating-point summation order (a grouped convolution instead of one
convolution per run), so results agree with separate runs to float tolerance (tests/test_gpu_packing.py
runs the same study both ways through `study run`). A packed phase writes no per-epoch checkpoints:
a pack killed mid-way restarts its members, each alone, from the start.

Packable stages: dense pretraining on the true data and the tickets of methods whose recipe ends in
one retraining with the stage's own schedule (PACKABLE_METHODS)."""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

# Methods whose recipe is "prune (own mask), then one retraining with ctx.config on the true data".
PACKABLE_METHODS = frozenset({"dense", "random", "random_tickets", "snip", "grasp", "synflow", "lt"})


def pack_key(stage: Any) -> str | None:
    """One key per (kind, dataset, model, model options, training schedule) for packable stages."""
    spec = stage.spec
    if _streamed(spec.get("dataset")):
        return None  # file-backed datasets are streamed one run at a time (packed.py refuses them)
    if stage.kind == "pretrain":
        if spec.get("data_check"):
            return None  # each member would train on its own corrupted data
        if spec.get("soft_filter"):
            return None  # soft filter pruning edits the weights after every epoch (loop's epoch_end)
        if spec.get("bn_l1"):
            return None  # network slimming's L1 on BN scales is a gradient hook on the model's own
            # parameters, which stack_module_state replaces: packed, the penalty would silently vanish
    elif stage.kind != "ticket" or spec["method"]["name"] not in PACKABLE_METHODS:
        return None
    from tickets.train.schedules import packable

    if not packable(spec["train"]):  # warmup/cosine/label smoothing/fp16: the stacked loop has none of them
        return None
    return json.dumps({"kind": stage.kind, "dataset": spec["dataset"], "model": spec["model"],
                       "model_options": spec["model_options"], "train": spec["train"]},
                      sort_keys=True, default=str)


def _streamed(name: Any) -> bool:
    from tickets.data import DATASETS

    return name in DATASETS and DATASETS.get(name).files


class _Captured(Exception):
    """Raised by the capture hook to stop a recipe at its training call."""

    def __init__(self, call: "_Call"):
        super().__init__("training captured for packing")
        self.call = call


@dataclass
class _Call:
    model: Any
    config: Any
    mask: Any
    phase: str
    train_view: Any
    snapshots: tuple[int, ...]
    seed: int
    rundir: Path
    on_epoch: Callable[[Any], None] | None


def _capture(ctx, model, config, *, mask, phase, train_view, snapshots):
    raise _Captured(_Call(model, config, mask, phase, train_view, tuple(snapshots), ctx.seed, Path(ctx.rundir),
                          ctx.on_epoch))


def run_packed(domain: Any, stages: Sequence[Mapping[str, Any]], rundirs: Sequence[Path],
               dep_dirs: Sequence[Mapping[str, Path]], reports: Sequence[Callable[[Mapping[str, Any]], None]],
               *, device: Any = None) -> list[Any]:
    """One result dict or exception per member, as `domain.run` would give for each alone."""
    from tickets.data import load_dataset
    from tickets.train.loop import resolve_device

    device = resolve_device(device)
    data = load_dataset(stages[0]["spec"]["dataset"])
    outcomes: list[Any] = [None] * len(stages)
    calls: dict[int, _Call] = {}
    for i, (stage, rundir, deps, report) in enumerate(zip(stages, rundirs, dep_dirs, reports)):
        try:
            outcomes[i] = domain.run(stage, rundir, deps, report, device=device, data=data, train_hook=_capture)
        except _Captured as captured:  # the usual case: train it below, with the others
            calls[i] = captured.call
        except Exception as exc:
            outcomes[i] = exc
    together = [i for i, call in calls.items() if call.train_view is None]
    if len(together) > 1 and len({json.dumps(_plain(calls[i].config), sort_keys=True) for i in together}) == 1:
        diverged = train_calls([calls[i] for i in together], data, device)
        for i, exc in zip(together, diverged):
            if exc is not None:
                outcomes[i] = exc
                calls.pop(i)
    for i in calls:  # trained together (finished phase on disk), or alone if it could not be packed
        try:
            outcomes[i] = domain.run(stages[i], rundirs[i], dep_dirs[i], reports[i], device=device, data=data)
        except Exception as exc:
            outcomes[i] = exc
    return outcomes


def _plain(config: Any) -> dict[str, Any]:
    out = asdict(config)
    out["milestones"] = list(out["milestones"])
    return out


def train_calls(calls: Sequence[_Call], data: Any, device: Any) -> list[BaseException | None]:
    """Train the captured calls as one stacked model, writing what the engine would write for each;
    returns per member None or the Diverged error its own run would have raised."""
    import torch

    from tickets.train import checkpoint as ckpt
    from tickets.train.loop import backend_settings
    from tickets.train.masking import check_mask
    from tickets.train.packed import PackedTrainer, make_generators

    config = calls[0].config
    masks = []
    for call in calls:
        call.model.to(device)
        mask = check_mask(call.model, call.mask)
        if mask:
            with torch.no_grad():
                for name, param in call.model.named_parameters():
                    if name in mask:
                        param.mul_(mask[name].to(param.device, param.dtype))
        masks.append(mask)
        ckpt.save_weights(ckpt.weights_path(call.rundir, call.phase, 0), call.model)
    generators = make_generators([c.seed for c in calls], device)
    trainer = PackedTrainer([c.model for c in calls], data, config, masks=masks, generators=generators,
                            device=device)
    with backend_settings(device, config.precision):  # TF32 on or off exactly as the engine sets it
        return _train_epochs(calls, trainer, masks, config, device)


def _train_epochs(calls, trainer, masks, config, device) -> list[BaseException | None]:
    import torch

    from registry.atomic import append_jsonl
    from tickets.train import checkpoint as ckpt
    from tickets.train.history import Diverged, EpochRecord
    from tickets.train.packed import lr_at

    k = len(calls)
    records: list[list[EpochRecord]] = [[] for _ in range(k)]
    failed: list[BaseException | None] = [None] * k
    for epoch in range(1, config.epochs + 1):
        started = time.perf_counter()
        lr = lr_at(config, epoch - 1)
        totals = torch.zeros(k, 2, device=device)
        seen = 0
        for x, y in trainer.loader.epoch():
            totals += trainer.step(x, y, lr)
            seen += y.shape[1]
        train = totals.double().cpu()
        test = trainer.evaluate().cpu()
        seconds = time.perf_counter() - started
        for i, call in enumerate(calls):
            if failed[i] is not None:
                continue
            loss = float(train[i, 0] / seen)
            if not math.isfinite(loss):
                failed[i] = Diverged(call.phase, epoch, None)
                continue
            record = EpochRecord(call.phase, epoch, loss, float(100.0 * train[i, 1] / seen),
                                 float(test[i, 0]), float(test[i, 1]), lr, seconds)
            records[i].append(record)
            append_jsonl(call.rundir / "metrics.jsonl", record.to_dict())
            if epoch in call.snapshots or epoch == config.epochs:
                trainer.stack.load_into(i, call.model)
            if epoch in call.snapshots:
                ckpt.save_weights(ckpt.weights_path(call.rundir, call.phase, epoch), call.model)
            if epoch == config.epochs:
                _final_checkpoint(call, trainer, i, masks[i], records[i])
            if call.on_epoch is not None:
                call.on_epoch(record)
    return failed


def _final_checkpoint(call: _Call, trainer: Any, i: int, mask: Any, records: list) -> None:
    """The engine's checkpoint after the last epoch (loop.py `_Phase._state`): the phase is then
    finished on disk, and a later `train()` of it returns its History at once."""
    import torch

    from tickets.train import checkpoint as ckpt

    config, model = call.config, call.model
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                                weight_decay=config.weight_decay, nesterov=config.nesterov)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=list(config.milestones),
                                                     gamma=config.gamma)
    for _ in range(config.epochs):
        optimizer.step()  # no gradients: moves nothing, keeps the scheduler's step-order check quiet
        scheduler.step()
    names = [n for n, _ in model.named_parameters()]
    order = list(trainer.stack.params)
    if trainer.opt.bufs is not None:
        for name, param in model.named_parameters():
            optimizer.state[param]["momentum_buffer"] = trainer.opt.bufs[order.index(name)][i].detach().clone()
    assert names == order, "stacked parameters follow the model's order"
    generator = trainer.loader.generators[i]
    state = {
        "format": 1, "phase": call.phase, "epoch": config.epochs,
        "model": model.state_dict(), "optimizer": optimizer.state_dict(),
        "scheduler": ckpt.scheduler_state(scheduler), "generator": generator.get_state(),
        "torch_rng": torch.get_rng_state(), "cuda_rng": None, "mask": mask,
        "records": [r.to_dict() for r in records], "best_test_acc": max(r.test_acc for r in records),
        "config": _plain(config), "packed_with": len(trainer.loader.generators),
    }
    ckpt.save(ckpt.checkpoint_path(call.rundir, call.phase, config.epochs), state)
