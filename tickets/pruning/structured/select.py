"""Which channels survive: the three rules of the structured experiments.

- `l1_kept`: per group, the filters of the producing conv with the largest L1 norms (Li et al.);
  counts per group come from a preset or a uniform ratio.
- `slimming_kept`: one global threshold over the |scale| of every BN that heads a group (network
  slimming): the `ratio` fraction of all those channels with the smallest scales is removed, as the
  released code does (threshold = the sorted scales' value at index int(total * ratio), keep > it,
  so the channel at the threshold goes too).
- `uniform_counts`: every prunable group keeps the same fraction (the channel-scaling baseline).
Ties are broken by channel index (stable sort), so a selection is a deterministic function of the
weights."""
from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

from registry.errors import UserError
from tickets.pruning.structured.rebuild import groups_of

if TYPE_CHECKING:
    from torch import nn


def uniform_counts(model: "nn.Module", ratio: float, name: str = "") -> dict[str, int]:
    """int(size * (1 - ratio)) channels per prunable width group (selection groups keep all)."""
    if not 0 < ratio < 1:
        raise UserError(f"channel ratio must be in (0, 1), got {ratio!r}")
    counts = {}
    for g in groups_of(model, name):
        if g.kind != "width" or not g.prunable:
            continue
        keep = int(g.size * (1 - ratio))
        if keep < 1:
            raise UserError(f"model {name}: channel ratio {ratio} removes every channel of {g.name} "
                            f"({g.size} channels, a whole layer); use a ratio below {1 - 1 / g.size:.3f}")
        counts[g.name] = keep
    return counts


def l1_kept(model: "nn.Module", counts: Mapping[str, int], name: str = "") -> dict[str, list[int]]:
    """The `counts[g]` filters of each group's source conv with the largest L1 norm."""
    import torch

    modules = dict(model.named_modules())
    groups = {g.name: g for g in groups_of(model, name)}
    kept = {}
    for gname, count in counts.items():
        group = groups[gname]
        if group.source is None:
            raise UserError(f"model {name}: group {gname} has no filters to rank by L1 norm")
        if not 1 <= count <= group.size:
            raise UserError(f"model {name}: {gname} cannot keep {count} of {group.size} channels")
        weight = modules[group.source].weight.detach().abs()
        norms = weight.flatten(1).sum(1)
        order = torch.argsort(-norms, stable=True)[:count]
        kept[gname] = sorted(order.tolist())
    return kept


def slimming_kept(model: "nn.Module", ratio: float, name: str = "") -> dict[str, list[int]]:
    """Channels whose BN |scale| exceeds the global threshold; refuses to empty a whole layer."""
    import torch

    if not 0 < ratio < 1:
        raise UserError(f"network slimming's channel ratio must be in (0, 1), got {ratio!r}")
    modules = dict(model.named_modules())
    groups = [g for g in groups_of(model, name) if g.bn is not None and g.prunable]
    scales = {g.name: modules[g.bn].weight.detach().abs().cpu() for g in groups}
    everything = torch.cat(list(scales.values()))
    threshold = torch.sort(everything).values[int(everything.numel() * ratio)]
    kept = {}
    for g in groups:
        idx = torch.nonzero(scales[g.name] > threshold).flatten().tolist()
        if not idx:
            raise UserError(f"model {name}: channel ratio {ratio} removes every channel of {g.name} "
                            f"(a whole layer); lower the ratio")
        kept[g.name] = idx
    return kept
