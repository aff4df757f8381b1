"""Training hyperparameters: the paper's defaults per dataset, every field overridable.

A `TrainConfig` is always fully resolved (no "use the default" placeholders) so a run directory's
spec says exactly what ran; run identity omits the fields equal to the dataset's defaults."""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any, Mapping

from registry.errors import UserError

# "fp32": the paper exactly (on CUDA with TF32 switched off); "tf32": TF32 tensor-core matmuls and
# convolutions on CUDA (the CPU computes fp32); "bf16": bf16 autocast. The default stays fp32 until a
# measured accuracy parity (bench/gpu_check.sh) supports another; precision is part of a stage's
# identity whenever it is not the default, so a key always names the numbers it produced.
# "fp16": fp16 autocast with loss scaling (torch.amp.GradScaler; tickets/train/precision.py).
PRECISIONS = ("fp32", "tf32", "bf16", "fp16")
SCHEDULES = ("step", "cosine")  # tickets/train/schedules.py
LOADERS = ("reference", "gpu")  # tickets.train.streaming.LOADERS


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 160
    batch_size: int = 64
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 1e-4
    milestones: tuple[int, ...] = (80, 120)  # lr × gamma at these epochs
    gamma: float = 0.1
    nesterov: bool = False
    augment: bool = True  # the dataset's augmentation (crop + flip for CIFAR/Tiny-ImageNet)
    eval_batch_size: int = 1000
    # Speed knobs (issues 7, 14). Non-default values are part of the identity like every field.
    precision: str = "fp32"
    channels_last: bool = True
    compile: bool = False  # torch.compile the model
    fused_sgd: bool = False  # torch.optim.SGD(fused=True): one kernel for the whole optimiser step
    # Fraction of the training set held out to select the epoch (tickets.train.validation); 0 = none.
    val_split: float = 0.0
    # ImageNet recipes (issue 18, tickets/train/schedules.py); at these defaults training is as before.
    schedule: str = "step"  # "step": milestones x gamma; "cosine": per-epoch cosine decay towards 0
    warmup_epochs: int = 0  # linear warmup, epoch e < W at lr x (e + 1) / (W + 1)
    label_smoothing: float = 0.0  # training loss only
    bn_weight_decay: bool = True  # False: BatchNorm parameters get no weight decay
    # Streaming datasets (issue 18, tickets/train/streaming.py): "reference" (PIL + torchvision in
    # DataLoader workers) or "gpu" (batched decode_jpeg + augmentation on the device); tensors ignore it.
    loader: str = "reference"
    # Mid-epoch checkpoints (tickets/train/midepoch.py) every N steps / M minutes; 0 = off (streaming
    # datasets then checkpoint every 20 minutes). They never change a result.
    checkpoint_steps: int = 0
    checkpoint_minutes: float = 0.0

    def validate(self) -> "TrainConfig":
        if self.epochs < 0:
            raise UserError(f"epochs must be >= 0, got {self.epochs}")
        if self.batch_size < 1:
            raise UserError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.lr <= 0:
            raise UserError(f"lr must be > 0, got {self.lr}")
        if not 0.0 <= self.val_split < 1.0:
            raise UserError(f"val_split must be a fraction in [0, 1), got {self.val_split}")
        if self.loader not in LOADERS:
            raise UserError(f"unknown loader {self.loader!r}; known: {', '.join(LOADERS)}")
        if self.checkpoint_steps < 0 or self.checkpoint_minutes < 0:
            raise UserError(f"checkpoint_steps/checkpoint_minutes must be >= 0, got "
                            f"{self.checkpoint_steps}/{self.checkpoint_minutes}")
        if self.precision not in PRECISIONS:
            raise UserError(f"unknown precision {self.precision!r}; known: {', '.join(PRECISIONS)}")
        if list(self.milestones) != sorted(self.milestones) or any(m < 0 for m in self.milestones):
            raise UserError(f"milestones must be increasing non-negative epochs, got {list(self.milestones)}")
        if self.schedule not in SCHEDULES:
            raise UserError(f"unknown schedule {self.schedule!r}; known: {', '.join(SCHEDULES)}")
        if self.warmup_epochs < 0 or (self.epochs and self.warmup_epochs >= self.epochs):
            raise UserError(f"warmup_epochs must be in [0, epochs), got {self.warmup_epochs} for {self.epochs} epochs")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise UserError(f"label_smoothing must be in [0, 1), got {self.label_smoothing}")
        return self

    def scaled_to(self, epochs: int) -> "TrainConfig":
        """Same schedule shape over a different number of epochs (milestones scale along). A scaled
        milestone that lands on epoch 0 or on the end drops out, and two that land together merge:
        a 1-epoch run keeps lr 0.1 throughout instead of starting at 0.01."""
        if self.epochs == 0:
            return replace(self, epochs=epochs)
        scaled = {round(m * epochs / self.epochs) for m in self.milestones}
        return replace(self, epochs=epochs, milestones=tuple(sorted(m for m in scaled if 0 < m < epochs)))


# The paper's settings; Tiny-ImageNet trains longer. Small datasets keep the same optimiser.
_PAPER = TrainConfig()
DATASET_DEFAULTS: dict[str, TrainConfig] = {
    "cifar10": _PAPER,
    "cifar100": _PAPER,
    "tinyimagenet": replace(_PAPER, epochs=300, milestones=(150, 225)),
    "mnist": _PAPER,
    "fashionmnist": _PAPER,
    "synthetic": replace(_PAPER, epochs=4, milestones=(2, 3), batch_size=32, eval_batch_size=256),
    # the PyTorch ImageNet example "Rethinking the Value of Network Pruning" trains with (and the usual
    # ImageNet baseline): 90 epochs, lr 0.1 / 10 at 30 and 60, batch 256, wd 1e-4 (tickets/recipes.py)
    "imagenet": replace(_PAPER, epochs=90, milestones=(30, 60), batch_size=256, eval_batch_size=250),
}


def defaults_for(dataset: str) -> TrainConfig:
    return DATASET_DEFAULTS.get(dataset, _PAPER)


def field_names() -> list[str]:
    return [f.name for f in fields(TrainConfig)]


def resolve(dataset: str, overrides: Mapping[str, Any] | None = None) -> TrainConfig:
    """Dataset defaults with `overrides` applied. Overriding `epochs` alone rescales the milestones
    so a short run keeps the paper's schedule shape (80/160, 120/160)."""
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(field_names()))
    if unknown:
        raise UserError(f"unknown training option {unknown[0]!r}; known: {', '.join(field_names())}")
    _check_types(overrides)
    base = defaults_for(dataset)
    if "epochs" in overrides and "milestones" not in overrides:
        base = base.scaled_to(int(overrides["epochs"]))
    if "milestones" in overrides:
        overrides["milestones"] = tuple(int(m) for m in overrides["milestones"])
    for name in ("lr", "momentum", "weight_decay", "gamma", "label_smoothing", "checkpoint_minutes"):
        if name in overrides:
            overrides[name] = float(overrides[name])
    return replace(base, **overrides).validate()


def _check_types(overrides: Mapping[str, Any]) -> None:
    """A study's `train={...}` values must have their field's type: `{"epochs": "three"}` is one
    clear line, not a ValueError from deep inside planning. Only refuses; converts nothing, so the
    keys of studies that ran before are unchanged."""
    import typing

    hints = typing.get_type_hints(TrainConfig)
    for name, value in overrides.items():
        hint = hints[name]
        if hint is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
            want = "a whole number"
        elif hint is float:
            ok = _is_number(value)
            want = "a number"
        elif hint is bool:
            ok = isinstance(value, bool)
            want = "True or False"
        elif typing.get_origin(hint) is tuple:
            ok = isinstance(value, (list, tuple)) and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
            want = "a list of whole-number epochs"
        else:
            ok = isinstance(value, str)
            want = "text"
        if not ok:
            raise UserError(f"training option {name} must be {want}, got {value!r}")


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True
