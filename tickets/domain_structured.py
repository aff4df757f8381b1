"""The structured-pruning part of the tickets domain, kept out of `tickets.domain` so that file only
calls in: plan-time checks, the fine-tuning schedule, and the size columns every run records.

- `retrain` (a cell key, `Grid(retrain={...})`): the fine-tuning schedule of structured pipelines
  (and of `weight_level`: every method whose class sets `has_retrain`),
  overrides on the released code's 40 epochs at lr 0.001 without decay (the rest of the fields from
  the cell's training). It is part of a run's identity only where it differs from that default, and
  only for pipelines that fine-tune (Scratch-E/B train with the large model's schedule).
- `params`, `flops`, `dense_params`, `dense_flops` for every run: see
  `tickets.pruning.structured.cost`. A structured run's `achieved_sparsity` is the fraction of the
  large network's conv + linear weights the smaller network does not have."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from registry.errors import UserError
from registry.identity import to_plain


def check_structured(method, model: str, info, model_options: Mapping[str, Any], sparsity: float) -> None:
    """Refuse at planning time what a structured run could not do: an unstructured network, a preset
    the network lacks, a ratio that empties a layer, a channel config that does not chain."""
    if not getattr(method, "inspects_network", True):  # e.g. `predefined`: names its architecture
        method.check_model(model, None, sparsity)
        return
    method.check_model(model, _planning_network(model, info, json.dumps(to_plain(model_options), sort_keys=True)),
                       sparsity)


@lru_cache(maxsize=16)
def _planning_network(model: str, info, options: str):
    """The network a plan-time check inspects (shapes only, never trained or changed), built once per
    network and options: a plan of 150 slimming cells built (and initialised) 150 networks for ~20 s."""
    import torch

    from tickets.models import build_model

    state = torch.random.get_rng_state()
    try:
        return build_model(model, info, **json.loads(options))
    finally:
        torch.random.set_rng_state(state)


def retrain_config(dataset: str, train: Mapping[str, Any], retrain: Mapping[str, Any]):
    from tickets.config import resolve
    from tickets.pruning.structured.methods import FINETUNE_SCHEDULE

    if not isinstance(retrain, Mapping):
        raise UserError(f"retrain must be a mapping of training options, got {retrain!r}")
    try:
        return resolve(dataset, {**dict(train), **FINETUNE_SCHEDULE, **dict(retrain)})
    except UserError as exc:
        raise UserError(f"retrain: {exc}") from None


def retrain_identity(dataset: str, config, retrain) -> dict[str, Any]:
    """The fine-tuning fields that differ from the default fine-tuning schedule of this training."""
    from dataclasses import replace

    from tickets.pruning.structured.methods import FINETUNE_SCHEDULE

    default = replace(config, **FINETUNE_SCHEDULE)
    return to_plain(retrain, defaults=default)


def size_columns(spec: Mapping[str, Any], rundir: Path, info, stats, result: Mapping[str, Any]) -> dict[str, Any]:
    from tickets.pruning.structured.cost import run_cost

    out: dict[str, Any] = run_cost(spec["model"], spec.get("model_options") or {}, info, rundir)
    structure = Path(rundir) / "structure.json"
    if structure.exists():
        from tickets.models import build_model, count_prunable

        dense = count_prunable(build_model(spec["model"], info, **dict(spec.get("model_options") or {})))
        kept = sum(r["kept"] for r in stats)
        out["achieved_sparsity"] = 1.0 - kept / dense if dense else 0.0
        out["structure"] = json.loads(structure.read_text())["model_options"]["channels"]
    return out
