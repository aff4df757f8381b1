"""The structured methods of "Rethinking the Value of Network Pruning" as pipelines over shared stages.

Each method picks channels (its rule), and its `retrain` option says what is trained afterwards:

- `finetune`: the smaller network inherits the kept weights of the trained large network and is
  trained with the fine-tuning schedule (the cell's `retrain`, by default the released code's 40
  epochs at lr 0.001, constant);
- `scratch_e`: the smaller network from a fresh initialisation, the large model's schedule;
- `scratch_b`: the same, for int(epochs x dense FLOPs / small FLOPs) epochs, at most `max_scale`
  (2) times the epochs; milestones scale along. The cap is the paper's (Section 4: "at most twice
  the budget"); the released main_B.py has none (a large `max_scale`, e.g. 100, lifts it). FLOPs by
  `flops_convention`: "macs" (conv/linear multiply-accumulates, the default) or "released"
  (compute_flops.py's count, see `tickets.pruning.structured.cost`).
- `lottery`: the channels chosen on the trained large network, the smaller network started from the
  large network's *initial* weights of those channels (the pretraining's epoch-0 snapshot), the
  large model's schedule: Rethinking's structured lottery-ticket comparison (its released
  cifar/lottery-ticket/l1-norm-pruning/main_lottery.py, a masked network started from init.pth.tar).

The large network's training is the shared `pretrain` stage; network slimming's sparsity-regularised
training is the same stage with `bn_l1` set, shared by all its channel ratios and pipelines.
Methods with a predefined architecture (l1_filter, channel_scale) train from scratch without any
large model; slimming's architecture comes from the trained model, so all its pipelines need it.

Files: `structure.json` in the run directory records the smaller network (model name and its
`channels` option), the kept indices per channel group and the rule, so the network is rebuilt
from the run directory alone; `flops.json` for Scratch-B's epoch scale."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from registry.atomic import read_json, write_json
from registry.errors import UserError
from tickets.pruning import steps
from tickets.pruning.methods import METHODS, SCRATCH_SEED_OFFSET, Method

RETRAINS = ("finetune", "scratch_e", "scratch_b", "lottery")
STRUCTURE_FILE = "structure.json"
# The released code's fine-tuning (cifar/*/main_finetune.py): 40 epochs, lr 0.001, no decay.
FINETUNE_SCHEDULE = {"epochs": 40, "lr": 0.001, "milestones": ()}


def scratch_b_epochs(epochs: int, dense_flops: int, small_flops: int, max_scale: float) -> int:
    """int(epochs x dense/small FLOPs) as in the released main_B.py, capped at max_scale x epochs."""
    if small_flops <= 0:
        raise UserError("the pruned network has no FLOPs left")
    return max(1, int(epochs * min(float(max_scale), dense_flops / small_flops)))


@dataclass(frozen=True)
class StructuredMethod(Method):
    """Shared options and the pipeline; subclasses choose channels (`kept`)."""

    structured: ClassVar[bool] = True
    uses_data = False
    automatic: ClassVar[bool] = False  # the architecture depends on the trained large model
    has_retrain: ClassVar[bool] = True  # the cell's `retrain` schedule reaches this method
    retrain: str = "finetune"
    max_scale: float = 2.0
    flops_convention: str = "macs"

    @property
    def needs_pretrain(self) -> bool:  # type: ignore[override]
        return self.retrain in ("finetune", "lottery") or self.automatic

    @property
    def uses_retrain_schedule(self) -> bool:
        return self.retrain == "finetune"

    def pretrain_options(self, sparsity: float | None = None) -> dict[str, Any]:
        """Options of the shared large-model training this method needs (slimming: bn_l1)."""
        return {}

    def validate(self):
        if self.retrain not in RETRAINS:
            raise UserError(f"method {self.name}: retrain must be one of {', '.join(RETRAINS)}, got {self.retrain!r}")
        if isinstance(self.max_scale, bool) or not isinstance(self.max_scale, (int, float)) or self.max_scale < 1:
            raise UserError(f"method {self.name}: max_scale must be >= 1, got {self.max_scale!r}")
        from tickets.pruning.structured.cost import FLOPS_CONVENTIONS

        if self.flops_convention not in FLOPS_CONVENTIONS:
            raise UserError(f"method {self.name}: flops_convention must be one of "
                            f"{', '.join(FLOPS_CONVENTIONS)}, got {self.flops_convention!r}")
        return self

    def check_sparsity(self, sparsity: float) -> None:
        """The cell's sparsity is this method's channel ratio (the fraction of channels removed)."""
        if not 0 < sparsity < 1:
            raise UserError(f"method {self.name}: the sparsity is the fraction of channels removed and "
                            f"must be in (0, 1), got {sparsity}")

    def check_model(self, model: str, net, sparsity: float) -> None:
        """Plan-time check on the large network: structured, and the rule leaves every layer a channel."""
        from tickets.pruning.structured.rebuild import groups_of

        groups_of(net, model)

    def kept(self, ctx, model) -> dict[str, list[int]]:  # pragma: no cover - abstract
        raise NotImplementedError

    def rule(self) -> dict[str, Any]:
        return {"method": self.name, **self.options()}

    def run(self, ctx):
        return run_structured(ctx, self)


def saved_selection(path, large, model_name: str) -> dict[str, list[int]] | None:
    """The kept channels an interrupted run recorded, or None when there is none. An unreadable or
    impossible `structure.json` (truncated, edited, foreign) is set aside as `structure.json.corrupt`
    with a warning and the channels are selected again, as a corrupt mask.pt is: otherwise the stage
    would fail the same way on every retry."""
    from tickets.pruning.structured import rebuild

    if not path.exists():
        return None
    try:
        record = read_json(path)
        if not isinstance(record, dict) or not isinstance(record.get("kept"), dict):
            raise ValueError("no 'kept' mapping")
        return rebuild.check_kept(large, {str(k): [int(i) for i in v] for k, v in record["kept"].items()}, model_name)
    except (OSError, ValueError, TypeError, UserError) as exc:
        import warnings

        warnings.warn(f"structure {path} is unreadable ({type(exc).__name__}: {exc}); set aside as "
                      f"{STRUCTURE_FILE}.corrupt and the channels selected again", RuntimeWarning, stacklevel=2)
        path.replace(path.with_name(STRUCTURE_FILE + ".corrupt"))
        return None


def run_structured(ctx, method: StructuredMethod):
    from tickets.models import build_model
    from tickets.pruning.structured import rebuild
    from tickets.pruning.structured.cost import count

    path = ctx.rundir / STRUCTURE_FILE
    large = steps.pretrained_model(ctx) if method.needs_pretrain else steps.initial_model(ctx)
    kept = saved_selection(path, large, ctx.model_name)  # an interrupted run: the selection was made
    if kept is None:
        kept = rebuild.check_kept(large, method.kept(ctx, large), ctx.model_name)
    small, channels = rebuild.rebuild(large, ctx.model_name, ctx.info, kept, options=ctx.model_options)
    dense, pruned = count(large, ctx.info.shape), count(small, ctx.info.shape)
    if not path.exists():
        write_json(path, {"model": ctx.model_name, "model_options": {**dict(ctx.model_options), "channels": channels},
                          "kept": kept, "rule": method.rule(), "retrain": method.retrain,
                          "params": pruned["params"], "flops": pruned["flops"],
                          "dense_params": dense["params"], "dense_flops": dense["flops"]})
    config = ctx.config
    if method.retrain == "finetune":
        config = ctx.retrain_config or ctx.config
    elif method.retrain == "lottery":  # the kept channels' initial weights, the large model's schedule
        small, _ = rebuild.rebuild(steps.pretrained_model(ctx, epoch=0), ctx.model_name, ctx.info, kept,
                                   ctx.model_options)
    else:
        import torch

        torch.manual_seed(ctx.seed + SCRATCH_SEED_OFFSET)
        small = build_model(ctx.model_name, ctx.info, **{**dict(ctx.model_options), "channels": channels})
        if method.retrain == "scratch_b":
            big, little = dense["flops"], pruned["flops"]
            if method.flops_convention == "released":
                from tickets.pruning.structured.cost import released_flops

                big, little = released_flops(large, ctx.info.shape), released_flops(small, ctx.info.shape)
            epochs = scratch_b_epochs(ctx.config.epochs, big, little, method.max_scale)
            write_json(ctx.rundir / "flops.json", {"dense_flops": big, "sparse_flops": little,
                                                   "convention": method.flops_convention,
                                                   "ratio": big / little, "epochs": epochs})
            config = ctx.config.scaled_to(epochs)
    steps.write_layers(ctx, small, None)
    return steps._train(ctx, small, config, phase=steps.RETRAIN_PHASE)


@METHODS.register()
@dataclass(frozen=True)
class L1Filter(StructuredMethod):
    """L1-norm filter pruning (Li et al., 2017): per layer, the filters with the largest L1 norms.
    `variant` A/B: the paper's predefined architectures (sparsity 0); variant "": every layer
    loses the cell's sparsity as a fraction of its filters."""

    name = "l1_filter"
    summary = "L1-norm filter pruning to a predefined smaller architecture"
    variant: str = "A"

    def check_sparsity(self, sparsity):
        if self.variant:
            if sparsity != 0:
                raise UserError(f"method l1_filter variant {self.variant} fixes every layer's ratio: sparsity must "
                                f"be 0, got {sparsity} (or use variant='' for one ratio in every layer)")
            return
        super().check_sparsity(sparsity)

    def check_model(self, model, net, sparsity):
        from tickets.pruning.structured import presets, select

        super().check_model(model, net, sparsity)
        if self.variant:
            presets.check_variant(model, self.variant)
        else:
            select.uniform_counts(net, sparsity, model)

    def kept(self, ctx, model):
        from tickets.pruning.structured import presets, select

        counts = (presets.preset_counts(ctx.model_name, self.variant) if self.variant
                  else select.uniform_counts(model, ctx.sparsity, ctx.model_name))
        return select.l1_kept(model, counts, ctx.model_name)


@METHODS.register()
@dataclass(frozen=True)
class NetworkSlimming(StructuredMethod):
    """Network slimming (Liu et al., 2017): train with `bn_l1` x sum |BN scale|, remove the sparsity
    fraction of all BN-headed channels with the globally smallest scales."""

    name = "slimming"
    summary = "network slimming: L1 on BN scales, global channel threshold"
    automatic = True
    bn_l1: float = 1e-4

    def validate(self):
        super().validate()
        if isinstance(self.bn_l1, bool) or not isinstance(self.bn_l1, (int, float)) or not self.bn_l1 > 0:
            raise UserError(f"method slimming: bn_l1 must be > 0, got {self.bn_l1!r}")
        return self

    def pretrain_options(self, sparsity=None):
        return {"bn_l1": float(self.bn_l1)}

    def kept(self, ctx, model):
        from tickets.pruning.structured import select

        return select.slimming_kept(model, ctx.sparsity, ctx.model_name)


@METHODS.register()
@dataclass(frozen=True)
class ChannelScale(StructuredMethod):
    """Uniform channel scaling: every layer keeps int(width x (1 - sparsity)) channels (the first
    ones; the weights are not ranked). The baseline of a thinner network of the same shape."""

    name = "channel_scale"
    summary = "every layer thinned by the same factor"

    def check_model(self, model, net, sparsity):
        from tickets.pruning.structured import select

        super().check_model(model, net, sparsity)
        select.uniform_counts(net, sparsity, model)

    def kept(self, ctx, model):
        from tickets.pruning.structured import select

        return {g: list(range(n)) for g, n in select.uniform_counts(model, ctx.sparsity, ctx.model_name).items()}
from tickets.pruning.structured import predefined as _predefined  # noqa: E402,F401  (ImageNet published architectures)
