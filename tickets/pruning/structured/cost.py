"""Parameters and FLOPs of a network as trained, for every run (structured or not).

- params: every parameter (conv, linear, BN, biases), less the positions a mask prunes;
- flops: multiply-accumulates of the conv and linear layers on one input of the dataset's shape:
  (kept weights of the layer) x (output positions), output positions from one forward pass. Bias
  additions, BN, activations and pooling are not counted (the convention of the papers' tables).
tests/test_structured_cost.py proves the count against ptflops."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Mapping

if TYPE_CHECKING:
    import torch
    from torch import nn


def count(model: "nn.Module", input_shape: tuple[int, ...],
          mask: Mapping[str, "torch.Tensor"] | None = None) -> dict[str, int]:
    """{"params", "flops"} of `model` (with `mask`'s pruned weights removed)."""
    import torch

    from tickets.models import prunable_layers

    mask = mask or {}
    positions: dict[str, int] = {}
    hooks = []
    layers = prunable_layers(model)
    for name, layer in layers:
        def hook(module, inputs, output, name=name):
            positions[name] = int(math.prod(output.shape[2:])) if output.dim() > 2 else \
                int(math.prod(output.shape[1:-1]))
        hooks.append(layer.register_forward_hook(hook))
    was_training = model.training
    try:
        model.eval()
        device = next(model.parameters()).device
        with torch.no_grad():
            model(torch.zeros((1, *input_shape), device=device))
    finally:
        model.train(was_training)
        for h in hooks:
            h.remove()
    params = sum(p.numel() for p in model.parameters())
    flops = 0
    for name, layer in layers:
        key = f"{name}.weight"
        kept = int(mask[key].sum()) if key in mask else layer.weight.numel()
        params -= layer.weight.numel() - kept
        flops += kept * positions.get(name, 1)
    return {"params": int(params), "flops": int(flops)}


def run_cost(model_name: str, model_options: Mapping, info, rundir) -> dict[str, int]:
    """params, flops, dense_params, dense_flops of a finished stage, from its run directory alone:
    a structured run's `structure.json`, else the network with the run's `mask.pt` (if any)."""
    from pathlib import Path

    import torch

    from registry.atomic import read_json
    from tickets.models import build_model

    rundir = Path(rundir)
    structure = rundir / "structure.json"
    if structure.exists():
        s = read_json(structure)
        return {k: int(s[k]) for k in ("params", "flops", "dense_params", "dense_flops")}
    net = build_model(model_name, info, **dict(model_options))
    dense = count(net, info.shape)
    mask_file = rundir / "mask.pt"
    mask = torch.load(mask_file, map_location="cpu", weights_only=True) if mask_file.exists() else None
    pruned = count(net, info.shape, mask) if mask is not None else dense
    return {"params": pruned["params"], "flops": pruned["flops"],
            "dense_params": dense["params"], "dense_flops": dense["flops"]}
