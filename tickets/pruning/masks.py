"""Masks over prunable weights, and the few ways every method turns scores or counts into one.

A mask is `dict[str, torch.BoolTensor]` keyed by the prunable weight's parameter name
(`"features.0.weight"`), same shape as the weight; True = kept. Layers absent from a mask are dense.

API
    prunable_weights(model) -> list[(param_name, weight)]          conv + linear, classifier last
    global_topk_mask(scores, keep_total, largest=True, include=None) -> mask
    layerwise_topk_mask(scores, keep_counts, largest=True) -> mask
    random_layerwise_mask(counts, shapes, generator, bernoulli=False) -> mask
    full_mask(model) -> mask (everything kept)
    apply_mask(model, mask) -> model          (zeroes pruned weights in place)
    mask_counts(mask) -> {name: kept}
    layer_stats(model, mask) -> [ {layer, shape, weights, kept, keep_ratio} ]
    achieved_sparsity(stats) -> float          fraction of prunable weights pruned
    collapsed(stats) -> bool                   some prunable layer keeps nothing
    collapsed_layers(stats) -> [layer]

Ties are broken deterministically (earlier layer, then lower flat index first), so a top-k mask
keeps exactly k weights even when many scores are equal (e.g. all-zero SynFlow scores)."""
from __future__ import annotations

from typing import Iterable, Mapping, Sequence

import torch
from torch import nn

from registry.errors import UserError

Mask = dict[str, torch.Tensor]


def prunable_weights(model: nn.Module) -> list[tuple[str, torch.Tensor]]:
    """Conv and linear weights in registration order (classifier last), keyed as in a mask."""
    return [(f"{name}.weight", m.weight) for name, m in model.named_modules()
            if isinstance(m, (nn.Conv2d, nn.Linear))]


def full_mask(model: nn.Module) -> Mask:
    return {name: torch.ones_like(w, dtype=torch.bool) for name, w in prunable_weights(model)}


def _topk_flat(values: torch.Tensor, k: int, largest: bool) -> torch.Tensor:
    """Boolean vector keeping exactly k entries of `values` (1-D); ties go to lower indices."""
    n = values.numel()
    keep = torch.zeros(n, dtype=torch.bool, device=values.device)
    if k <= 0:
        return keep
    if k >= n:
        return ~keep
    v = values.double()
    v = torch.nan_to_num(v, nan=float("-inf") if largest else float("inf"))
    if not largest:
        v = -v
    threshold = torch.topk(v, k, sorted=False).values.min()
    keep = v > threshold
    need = k - int(keep.sum())
    if need > 0:
        ties = torch.nonzero(v == threshold).flatten()[:need]
        keep[ties] = True
    return keep


def global_topk_mask(scores: Mapping[str, torch.Tensor], keep_total: int, largest: bool = True,
                     include: Iterable[str] | None = None) -> Mask:
    """One global threshold over the layers in `include` (default: all of `scores`).

    Keeps exactly `keep_total` weights among the included layers (the `largest` scores, or the
    smallest with largest=False, as GraSP does); layers of `scores` not included stay dense."""
    names = list(scores) if include is None else [n for n in scores if n in set(include)]
    total = sum(scores[n].numel() for n in names)
    if not 0 <= keep_total <= total:
        raise UserError(f"cannot keep {keep_total} weights out of {total} prunable weights")
    flat = torch.cat([scores[n].detach().flatten().double().cpu() for n in names]) if names \
        else torch.zeros(0, dtype=torch.float64)
    keep = _topk_flat(flat, int(keep_total), largest)
    mask: Mask = {}
    start = 0
    for n in names:
        s = scores[n]
        mask[n] = keep[start:start + s.numel()].view(s.shape).to(s.device)
        start += s.numel()
    for n, s in scores.items():
        if n not in mask:
            mask[n] = torch.ones_like(s, dtype=torch.bool)
    return {n: mask[n] for n in scores}


def layerwise_topk_mask(scores: Mapping[str, torch.Tensor], keep_counts: Mapping[str, int],
                        largest: bool = True) -> Mask:
    """Per layer, keep exactly `keep_counts[name]` weights with the largest (smallest) scores.

    Layers of `scores` missing from `keep_counts` stay dense."""
    mask: Mask = {}
    for n, s in scores.items():
        k = keep_counts.get(n, s.numel())
        if not 0 <= k <= s.numel():
            raise UserError(f"layer {n} has {s.numel()} weights; cannot keep {k}")
        mask[n] = _topk_flat(s.detach().flatten().cpu(), int(k), largest).view(s.shape).to(s.device)
    return mask


def random_layerwise_mask(counts: Mapping[str, int], shapes: Mapping[str, Sequence[int]],
                          generator: torch.Generator, bernoulli: bool = False) -> Mask:
    """Random positions per layer.

    Exact mode (default): each layer keeps exactly `counts[name]` weights at uniformly random
    positions. Bernoulli mode: each weight is kept independently with probability
    counts/size, so only the expected count matches. Layers are drawn in `shapes` order from
    `generator` (a CPU torch.Generator), so the mask is reproducible."""
    mask: Mask = {}
    for n, shape in shapes.items():
        size = int(torch.Size(shape).numel())
        k = int(counts.get(n, size))
        if not 0 <= k <= size:
            raise UserError(f"layer {n} has {size} weights; cannot keep {k}")
        if bernoulli:
            keep = torch.rand(size, generator=generator) < (k / size if size else 0.0)
        else:
            keep = torch.zeros(size, dtype=torch.bool)
            keep[torch.randperm(size, generator=generator)[:k]] = True
        mask[n] = keep.view(tuple(shape))
    return mask


@torch.no_grad()
def apply_mask(model: nn.Module, mask: Mapping[str, torch.Tensor]) -> nn.Module:
    """Zero the pruned weights in place; returns the model."""
    params = dict(model.named_parameters())
    for n, m in mask.items():
        if n not in params:
            raise KeyError(f"mask names {n!r}, which is not a parameter of the model")
        p = params[n]
        if tuple(m.shape) != tuple(p.shape):
            raise ValueError(f"mask for {n} has shape {tuple(m.shape)}, weight has {tuple(p.shape)}")
        p.mul_(m.to(device=p.device, dtype=p.dtype))
    return model


def mask_counts(mask: Mapping[str, torch.Tensor]) -> dict[str, int]:
    return {n: int(m.sum()) for n, m in mask.items()}


def layer_stats(model: nn.Module, mask: Mapping[str, torch.Tensor] | None) -> list[dict]:
    """One row per prunable layer: layer (param name), shape, weights, kept, keep_ratio."""
    mask = mask or {}
    rows = []
    for n, w in prunable_weights(model):
        kept = int(mask[n].sum()) if n in mask else w.numel()
        rows.append({"layer": n, "shape": list(w.shape), "weights": w.numel(), "kept": kept,
                     "keep_ratio": kept / w.numel() if w.numel() else 1.0})
    return rows


def achieved_sparsity(stats: Sequence[Mapping]) -> float:
    total = sum(r["weights"] for r in stats)
    return 1.0 - sum(r["kept"] for r in stats) / total if total else 0.0


def collapsed_layers(stats: Sequence[Mapping]) -> list[str]:
    return [r["layer"] for r in stats if r["weights"] > 0 and r["kept"] == 0]


def collapsed(stats: Sequence[Mapping]) -> bool:
    """True when a prunable layer keeps nothing: the network cannot pass signal (chance accuracy)."""
    return bool(collapsed_layers(stats))
