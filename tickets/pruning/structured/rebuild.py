"""Cut a network down to the channels kept in each channel group, weights carried over.

The network class describes its groups (`channel_groups()`, see `tickets.models.structured`); a
group's kept indices slice every tensor it names: a member with role "out" loses entries on
dimension 0 of each of its parameters and buffers of the group's size (conv filters and bias, a
BN's scale, shift and running statistics), a member with role "in" loses input channels
(dimension 1 of a conv or linear weight). The smaller network is built by the same builder from
its `channels` entries, so a run directory's options alone rebuild it."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence

from registry.errors import UserError

if TYPE_CHECKING:
    import torch
    from torch import nn

    from tickets.data.info import DatasetInfo

Kept = Mapping[str, Sequence[int]]


def groups_of(model: "nn.Module", name: str = "") -> list:
    fn = getattr(model, "channel_groups", None)
    if fn is None:
        from tickets.models.structured import STRUCTURED_MODELS

        raise UserError(f"model {name or type(model).__name__} has no channel configuration, so it cannot be "
                        f"pruned structurally; structured networks: {', '.join(STRUCTURED_MODELS)}")
    return fn()


def full_kept(model: "nn.Module") -> dict[str, list[int]]:
    return {g.name: list(range(g.size)) for g in groups_of(model)}


def check_kept(model: "nn.Module", kept: Kept, name: str = "") -> dict[str, list[int]]:
    """Every group's kept indices, sorted and in range; a group left out keeps everything. A group
    that would lose all its channels (the whole layer) is refused."""
    groups = {g.name: g for g in groups_of(model, name)}
    unknown = sorted(set(kept) - set(groups))
    if unknown:
        raise UserError(f"model {name}: no channel group {unknown[0]!r}; groups: {', '.join(list(groups)[:6])}, ...")
    out = {}
    for gname, group in groups.items():
        idx = sorted({int(i) for i in kept.get(gname, range(group.size))})
        if not idx:
            raise UserError(f"model {name}: pruning removes every channel of {gname} (a whole layer); "
                            f"lower the channel ratio")
        if idx[0] < 0 or idx[-1] >= group.size:
            raise UserError(f"model {name}: kept channel {idx[-1] if idx[-1] >= group.size else idx[0]} "
                            f"of {gname} is outside 0..{group.size - 1}")
        out[gname] = idx
    return out


def entries(model: "nn.Module", kept: Kept) -> list[Any]:
    """The `channels` option of the smaller network: a count per width group, the kept indices
    per selection group."""
    return [list(kept[g.name]) if g.kind == "select" else len(kept[g.name]) for g in groups_of(model)]


def sliced_state(model: "nn.Module", kept: Kept) -> dict[str, "torch.Tensor"]:
    """`model`'s state dict with every group's dropped channels cut out."""
    import torch

    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    modules = dict(model.named_modules())
    for group in groups_of(model):
        idx = torch.as_tensor(list(kept[group.name]), dtype=torch.long)
        for module_name, role in group.members:
            module = modules[module_name]
            prefix = f"{module_name}." if module_name else ""
            if type(module).__name__ == "ChannelSelection":
                state[f"{prefix}index"] = idx.clone()
                continue
            if role == "in":
                key = f"{prefix}weight"
                state[key] = state[key].index_select(1, _input_index(idx, state[key].shape[1], group.size))
                continue
            for pname, _ in list(module.named_parameters(recurse=False)) + list(module.named_buffers(recurse=False)):
                key = f"{prefix}{pname}"
                if state[key].dim() >= 1 and state[key].shape[0] == group.size:
                    state[key] = state[key].index_select(0, idx)
    return state


def _input_index(idx: "torch.Tensor", inputs: int, size: int) -> "torch.Tensor":
    """Input positions of the kept channels: the channels themselves, or, for a linear layer fed by
    a flattened C x H x W map (an ImageNet VGG's first 4096 layer), each channel's H·W positions."""
    import torch

    per = inputs // size
    if per <= 1:
        return idx
    return (idx[:, None] * per + torch.arange(per)).flatten()


def rebuild(model: "nn.Module", name: str, info: "DatasetInfo", kept: Kept,
            options: Mapping[str, Any] | None = None):
    """(smaller network carrying `model`'s kept weights, its `channels` entries); `options`: the
    large network's other model options (e.g. `shortcut_grad`, densenet_bc100's `bottleneck`),
    which the smaller one keeps."""
    from tickets.models import build_model

    kept = check_kept(model, kept, name)
    channels = entries(model, kept)
    small = build_model(name, info, **{**dict(options or {}), "channels": channels})
    try:
        small.load_state_dict(sliced_state(model, kept))
    except RuntimeError as exc:  # a network whose groups do not describe its tensors
        raise UserError(f"model {name}: the pruned shapes do not chain ({str(exc).splitlines()[0]})") from None
    return small, channels


def mask_dropped(model: "nn.Module", kept: Kept) -> None:
    """Silence the dropped channels in place, keeping the large network's shapes: each group's BN
    scale and shift (or, without a BN, the producing conv's filters) set to zero. After a ReLU the
    dropped channels carry exactly zero, which is what the rebuilt network computes without them."""
    import torch

    modules = dict(model.named_modules())
    with torch.no_grad():
        for group in groups_of(model):
            drop = sorted(set(range(group.size)) - set(kept.get(group.name, range(group.size))))
            if not drop:
                continue
            idx = torch.as_tensor(drop, dtype=torch.long)
            target = modules[group.bn] if group.bn else modules[group.source]
            target.weight[idx] = 0
            if getattr(target, "bias", None) is not None:
                target.bias[idx] = 0
