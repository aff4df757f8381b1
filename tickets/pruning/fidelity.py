"""What the papers' released code does when scoring at initialisation, as option defaults.

SNIP, GraSP and SynFlow have a `fidelity` option. `"released"` (the default) follows the released
code the seed paper's numbers came from (JingtongSu/sanity-checking-pruning on top of
alecwangcq/GraSP; ganguli-lab/Synaptic-Flow); `"v1"` is this project's first implementation,
kept so results computed with it stay addressable under their old keys. docs/FIDELITY.md lists
every difference item by item.

Options declared `X | None` default to None, meaning "what `fidelity` does for this dataset and
network"; `scoring_defaults` says what that is. Planning turns an explicit value equal to it back
into None (`canonical`), so `Snip(samples_per_class=10)` and `Snip()` share a key on CIFAR-10."""
from __future__ import annotations

import dataclasses
import re
from typing import Any

RELEASED = "released"
V1 = "v1"
FIDELITIES = (RELEASED, V1)

# train_ticket.py: 10 samples per class in one batch, except 1 per class x 10 iterations on
# Tiny-ImageNet and for ResNets deeper than 32 layers (`args.depth > 32`).
DEEP_RESNET_DEPTH = 32


def seed_code_small_batches(dataset: str, model: str) -> bool:
    """True where the seed code scores on 1 sample per class x 10 iterations."""
    if dataset == "tinyimagenet":
        return True
    match = re.fullmatch(r"resnet(\d+)", model)
    return bool(match) and int(match.group(1)) > DEEP_RESNET_DEPTH


def scoring_defaults(method: str, fidelity: str, dataset: str, model: str) -> dict[str, Any]:
    """The values the None-valued options of `method` take under `fidelity` for this run."""
    if fidelity == V1:
        out: dict[str, Any] = {"samples_per_class": 10, "iterations": 1, "augment": False}
        if method == "grasp":
            out.update(reinit_classifier=False, half_batches=False)
        return out
    small = seed_code_small_batches(dataset, model)
    out = {"samples_per_class": 1 if small else 10, "iterations": 10 if small else 1, "augment": True}
    if method == "grasp":
        out.update(reinit_classifier=True, half_batches=True)
    return out


def resolved(method, dataset: str, model: str):
    """`method` with every None-valued contextual option replaced by its value for this run."""
    defaults = scoring_defaults(method.name, method.fidelity, dataset, model)
    fill = {k: v for k, v in defaults.items() if hasattr(method, k) and getattr(method, k) is None}
    return dataclasses.replace(method, **fill) if fill else method


def canonical(method, dataset: str, model: str):
    """`method` with explicit values equal to their contextual default turned back into None
    (so they drop out of the identity like any default)."""
    defaults = scoring_defaults(method.name, method.fidelity, dataset, model)
    clear = {k: None for k, v in defaults.items()
             if hasattr(method, k) and getattr(method, k) is not None and getattr(method, k) == v}
    return dataclasses.replace(method, **clear) if clear else method
