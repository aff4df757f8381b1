"""The training engine: device-resident data with tensor augmentation, masked SGD, epoch
checkpoints and resume. `train()` runs one phase; the pruning methods call it once per phase."""
from .batches import DeviceLoader, iterate_batches, make_loader, normalise, random_crop, random_flip
from .checkpoint import (checkpoint_path, list_checkpoints, load_weights, save_weights, snapshot,
                         weights_path)
from .history import Diverged, EpochRecord, History
from .loop import autocast_factory, evaluate, resolve_device, train
from .masking import MaskEnforcer, check_mask

__all__ = [
    "DeviceLoader", "Diverged", "EpochRecord", "History", "MaskEnforcer", "autocast_factory",
    "check_mask", "checkpoint_path", "evaluate", "iterate_batches", "list_checkpoints", "load_weights",
    "make_loader", "normalise", "random_crop", "random_flip", "resolve_device", "save_weights",
    "snapshot", "train", "weights_path",
]
