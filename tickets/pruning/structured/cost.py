"""Parameters and FLOPs of a network as trained, for every run (structured or not).

- params: every parameter (conv, linear, BN, biases), less the positions a mask prunes;
- flops: multiply-accumulates of the conv and linear layers on one input of the dataset's shape:
  (kept weights of the layer) x (output positions), output positions from one forward pass. Bias
  additions, BN, activations and pooling are not counted (the convention of the papers' tables).
tests/test_structured_cost.py proves the count against ptflops.

FLOPs conventions (`FLOPS_CONVENTIONS`; docs/FIDELITY.md item 13):
- `macs` (the default, the `flops` column): conv/linear multiply-accumulates, what the papers print
  (VGG-16 on CIFAR: 313.5 M);
- `released`: Rethinking's `cifar/l1-norm-pruning/compute_flops.py` (simochen/model-tools): 2 x
  multiply-adds + bias per conv/linear output, 2 per BatchNorm2d input element (BN1d not counted),
  1 per ReLU input element, k x k per pooling output element (VGG-16: 627.9 M). `released_flops`
  counts every ReLU and pooling call, functional ones included; the released script hooks modules
  only, so it misses pools made inside `forward` (VGG's final AvgPool2d(2): 2,048 operations; the
  ResNet shortcut's pooling), which this count includes. Ratios of the two conventions agree closely;
  Scratch-B's epoch scale can use either (`flops_convention`)."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Mapping

if TYPE_CHECKING:
    import torch
    from torch import nn


def forward_once(model: "nn.Module", input_shape: tuple[int, ...], hooks: list, context=None) -> None:
    """One eval-mode forward pass of a zero batch of `input_shape` (what the size counters' hooks
    observe); the model's mode comes back and `hooks` are removed afterwards, whatever happens."""
    import contextlib

    import torch

    was_training = model.training
    try:
        model.eval()
        device = next(model.parameters()).device
        with torch.no_grad(), (context if context is not None else contextlib.nullcontext()):
            model(torch.zeros((1, *input_shape), device=device))
    finally:
        model.train(was_training)
        for h in hooks:
            h.remove()


def count(model: "nn.Module", input_shape: tuple[int, ...],
          mask: Mapping[str, "torch.Tensor"] | None = None) -> dict[str, int]:
    """{"params", "flops"} of `model` (with `mask`'s pruned weights removed)."""
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
    forward_once(model, input_shape, hooks)
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


FLOPS_CONVENTIONS = ("macs", "released")


def released_flops(model: "nn.Module", input_shape: tuple[int, ...],
                   mask: Mapping[str, "torch.Tensor"] | None = None) -> int:
    """compute_flops.py's total for one input (its `total_flops / 3` over a batch of 3): conv
    (2·k·k·c_in/groups + bias)·outputs, linear 2·weights + bias, BatchNorm2d 2 per input element,
    ReLU 1 per input element, pooling k·k per output element. A mask's pruned weights drop out of
    the 2·weights terms (the released script counts dense layers: its pruned networks are smaller)."""
    import torch
    from torch import nn
    from torch.nn import functional as F
    from torch.overrides import TorchFunctionMode

    mask = mask or {}
    total = [0]

    def conv_hook(module, inputs, output, name):
        positions = int(math.prod(output.shape[2:]))
        kept = int(mask[f"{name}.weight"].sum()) if f"{name}.weight" in mask else module.weight.numel()
        bias = module.out_channels if module.bias is not None else 0
        total[0] += 2 * kept * positions + bias * positions

    def linear_hook(module, inputs, output, name):
        kept = int(mask[f"{name}.weight"].sum()) if f"{name}.weight" in mask else module.weight.numel()
        total[0] += 2 * kept + (module.bias.numel() if module.bias is not None else 0)

    def bn_hook(module, inputs, output):
        total[0] += 2 * inputs[0][0].numel()

    def pooled(kernel, output) -> int:
        k = kernel if isinstance(kernel, int) else math.prod(kernel)
        return (k * k if isinstance(kernel, int) else k) * output[0].numel()

    class Counter(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            out = func(*args, **kwargs)
            if func in (F.relu, torch.relu, torch.relu_, F.relu_):
                total[0] += args[0][0].numel()
            elif func in (F.max_pool2d, F.avg_pool2d):
                kernel = kwargs.get("kernel_size", args[1] if len(args) > 1 else None)
                total[0] += pooled(kernel, out[0] if isinstance(out, tuple) else out)
            elif func is F.adaptive_avg_pool2d:
                x = args[0]
                kernel = (x.shape[-2] // out.shape[-2], x.shape[-1] // out.shape[-1])
                total[0] += pooled(kernel, out)
            return out

    hooks = []
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            hooks.append(module.register_forward_hook(lambda m, i, o, n=name: conv_hook(m, i, o, n)))
        elif isinstance(module, nn.Linear):
            hooks.append(module.register_forward_hook(lambda m, i, o, n=name: linear_hook(m, i, o, n)))
        elif isinstance(module, nn.BatchNorm2d):
            hooks.append(module.register_forward_hook(bn_hook))
    forward_once(model, input_shape, hooks, Counter())
    return int(total[0])
