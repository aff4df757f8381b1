"""`predefined`: train a published pruned architecture from scratch (Scratch-E / Scratch-B).

ThiNet, regression-based channel pruning and sparse structure selection published their pruned
ImageNet networks; "Rethinking the Value of Network Pruning" trains those architectures from a
fresh initialisation and imports the fine-tuned accuracies from the original papers (their models
are Caffe/MXNet releases). So this method has no fine-tuning pipeline: the cell's model is the
large network (for the FLOPs ratio of Scratch-B and the store's dense sizes), `arch` names the
small one (tickets/pruning/structured/imagenet_presets.py), and nothing depends on a trained model.
The cell's sparsity is 0 (the architecture fixes every layer)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from registry.atomic import read_json, write_json
from registry.errors import UserError
from tickets.pruning import steps
from tickets.pruning.methods import METHODS, SCRATCH_SEED_OFFSET
from tickets.pruning.structured.methods import STRUCTURE_FILE, StructuredMethod, scratch_b_epochs

SCRATCH = ("scratch_e", "scratch_b")


@METHODS.register()
@dataclass(frozen=True)
class Predefined(StructuredMethod):
    """A published pruned architecture (`arch`) trained from scratch for the large model's epochs
    (scratch_e) or for its FLOPs budget (scratch_b)."""

    name = "predefined"
    summary = "a published pruned architecture (ThiNet, regression, SSS) trained from scratch"
    automatic: ClassVar[bool] = False
    inspects_network: ClassVar[bool] = False  # plan-time checks need the names only, not a built network
    arch: str = ""
    retrain: str = "scratch_e"

    def validate(self):
        from tickets.pruning.structured.imagenet_presets import preset

        super().validate()
        if self.retrain not in SCRATCH:
            raise UserError(f"method predefined trains from scratch: retrain must be one of {', '.join(SCRATCH)}, "
                            f"got {self.retrain!r} (the papers' fine-tuned numbers are imported, not retrained)")
        preset(self.arch)
        return self

    def check_sparsity(self, sparsity):
        if sparsity != 0:
            raise UserError(f"method predefined: the architecture {self.arch} fixes every layer; sparsity must be 0, "
                            f"got {sparsity}")

    def check_model(self, model, net, sparsity):
        from tickets.pruning.structured.imagenet_presets import preset

        p = preset(self.arch)
        if model != p.model:
            raise UserError(f"method predefined: {self.arch} ({p.label}) is cut from {p.model}, not {model}")

    def run(self, ctx):
        return run_predefined(ctx, self)


def run_predefined(ctx, method: Predefined):
    import torch

    from tickets.models import build_model
    from tickets.pruning.structured.cost import count
    from tickets.pruning.structured.imagenet_presets import preset_options

    small_options = {**dict(ctx.model_options), **preset_options(method.arch)}
    path = ctx.rundir / STRUCTURE_FILE
    if path.exists():
        sizes = read_json(path)
    else:
        state = torch.random.get_rng_state()
        try:
            with torch.device("meta"):  # sizes only: no weights drawn
                large = build_model(ctx.model_name, ctx.info, **dict(ctx.model_options))
                small = build_model(ctx.model_name, ctx.info, **small_options)
            dense, pruned = count(large, ctx.info.shape), count(small, ctx.info.shape)
        finally:
            torch.random.set_rng_state(state)
        sizes = {"model": ctx.model_name,
                 "model_options": {"channels": small_options.get("channels"),
                                   **{k: v for k, v in small_options.items() if k not in ("channels", "select")}},
                 "kept": {}, "rule": method.rule(), "retrain": method.retrain,
                 "params": pruned["params"], "flops": pruned["flops"],
                 "dense_params": dense["params"], "dense_flops": dense["flops"]}
        write_json(path, sizes)
    torch.manual_seed(ctx.seed + SCRATCH_SEED_OFFSET)
    small = build_model(ctx.model_name, ctx.info, **small_options)
    config = ctx.config
    if method.retrain == "scratch_b":
        epochs = scratch_b_epochs(ctx.config.epochs, sizes["dense_flops"], sizes["flops"], method.max_scale)
        write_json(ctx.rundir / "flops.json", {"dense_flops": sizes["dense_flops"], "sparse_flops": sizes["flops"],
                                               "ratio": sizes["dense_flops"] / sizes["flops"], "epochs": epochs})
        config = ctx.config.scaled_to(epochs)
    steps.write_layers(ctx, small, None)
    return steps._train(ctx, small, config, phase=steps.RETRAIN_PHASE)
