"""Pruning methods: each a frozen dataclass of its options and a few-line recipe over `steps`.

A method's fields are its options (defaults = the papers' values; fields left at their default
drop out of the run identity, so adding an option never changes existing keys). Class attributes
say what the registry needs to plan: `needs_pretrain` (the recipe starts from a trained dense
network, which the registry trains once per dataset/model/seed/training and shares) and
`uses_data` (the pruning step reads training data, so data sanity checks apply).

    method = method_from("random_tickets", {"rule": "erk"})      # or RandomTickets(rule="erk")
    history = method.run(ctx)                                      # ctx: steps.RunContext

Choices where the papers are silent (documented here and in the report):
- Magnitude-after-training methods (lt, imp, wr, lrr, obd, scratch_e, scratch_b) prune one global
  threshold over every prunable layer except the classifier (the LT paper's "conv weights,
  classifier not pruned"; OpenLTH's default for CIFAR networks); `prune_classifier=True` includes it.
  The whole sparsity budget is taken from the pruned layers.
- `imp` prunes to 1-(1-p)^(r/R) after round r of R, rewinding to the initial weights each round; the
  shared pretraining is round 1's training, the final retraining runs after round R's pruning.
- `wr` rewinds to epoch `rewind_epoch` (5) of the pretraining and retrains the remaining epochs with
  the learning rate the schedule had at that epoch; the epoch must be a pretraining snapshot.
- `scratch_e`/`scratch_b` train the pruned architecture from a fresh initialisation (seed offset
  SCRATCH_SEED_OFFSET, so it differs from the lottery ticket's initial weights); Scratch-B trains
  dense_flops / sparse_flops times as many epochs (FLOPs of conv/linear layers from their output
  sizes), capped at `max_scale` (2.0) so very sparse networks do not train for thousands of epochs.
- `obd` scores ½·h_ii·w² with the diagonal Hessian estimated on `samples_per_class` examples per
  class of the (possibly corrupted) pruning data, one global threshold including the classifier.
"""
from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

from registry.errors import UserError
from registry.identity import to_plain
from registry.naming import Registry
from tickets.pruning import fidelity as fidelity_rules
from tickets.pruning import steps

METHODS: Registry[type["Method"]] = Registry("method")

# Fresh initialisations for training from scratch use seed + this offset (documented choice).
SCRATCH_SEED_OFFSET = 10_007


class Method:
    """Base of every method dataclass; subclasses set the class attributes and `run`."""

    name: ClassVar[str] = ""
    needs_pretrain: ClassVar[bool] = False
    uses_data: ClassVar[bool] = True
    prunes: ClassVar[bool] = True  # False only for `dense`
    summary: ClassVar[str] = ""

    def validate(self) -> "Method":
        """Check option ranges; raise UserError naming the bad value."""
        return self

    def identity(self) -> dict[str, Any]:
        """The method's part of a run identity: its name and every option not at its default."""
        return {"name": self.name, **to_plain(self)}

    def variant_options(self) -> dict[str, Any]:
        """What this run changes from the papers' settings (the `variant` column's method part)."""
        return {k: v for k, v in self.identity().items() if k != "name"}

    def canonical(self, dataset: str, model: str) -> "Method":
        """The instance whose identity names this run's behaviour once (options whose default
        depends on the dataset/network are None when equal to it). Most methods: itself."""
        return self

    def resolved(self, dataset: str, model: str) -> "Method":
        """Every option concrete for this dataset/network (what a run's spec stores)."""
        return self

    def options(self) -> dict[str, Any]:
        """Every option with its value (defaults included): the fully resolved spec."""
        return {f.name: to_plain(getattr(self, f.name)) for f in dataclasses.fields(self)}  # type: ignore[arg-type]

    def rewind_epochs(self) -> tuple[int, ...]:
        """Pretraining snapshot epochs this method reads (beyond the initial weights)."""
        return ()

    def run(self, ctx: "steps.RunContext") -> Any:  # pragma: no cover - abstract
        raise NotImplementedError


def _positive_int(method: Method, option: str, minimum: int = 1) -> None:
    value = getattr(method, option)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise UserError(f"method {method.name}: {option} must be an integer >= {minimum}, got {value!r}")


def _positive(method: Method, option: str) -> None:
    value = getattr(method, option)
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0:
        raise UserError(f"method {method.name}: {option} must be > 0, got {value!r}")


def _ratio_rule(method: Method, rule: str) -> None:
    from tickets.pruning.ratios import parse_rule

    try:
        parse_rule(rule)
    except UserError as exc:
        raise UserError(f"method {method.name}: {exc}") from None


# --------------------------------------------------------------------------- no pruning

@METHODS.register()
@dataclass(frozen=True)
class Dense(Method):
    """The full network, trained with the standard schedule (the "Full Network" row)."""

    name = "dense"
    prunes = False
    uses_data = False
    summary = "the unpruned network"

    def run(self, ctx):
        return steps.train_dense(ctx)


# --------------------------------------------------------------------------- pruning at init

@METHODS.register()
@dataclass(frozen=True)
class RandomGlobal(Method):
    """One global random mask over all prunable weights: the classic weak baseline."""

    name = "random"
    uses_data = False
    summary = "one global random mask at initialisation"

    def run(self, ctx):
        model = steps.initial_model(ctx)
        mask = steps.prune(ctx, lambda: steps.random_global_mask(ctx, model))
        return steps.retrain(ctx, model, mask)


class _ReadsDataWithScoredRule:
    """`uses_data` of a method with a ratio rule: False on the class (data-free by default), and on
    an instance True when its rule takes counts from a scored mask (snip_ratio, grasp_ratio), so
    data sanity checks apply to those runs."""

    def __get__(self, obj, owner=None) -> bool:
        if obj is None:
            return False
        from tickets.pruning.ratios import scored_rule

        try:
            return scored_rule(obj.rule) is not None
        except UserError:
            return False


@METHODS.register()
@dataclass(frozen=True)
class RandomTickets(Method):
    """Random masks with per-layer keep counts from a ratio rule (smart ratios by default; the
    scored rules snip_ratio/grasp_ratio re-draw the positions of a SNIP/GraSP mask's counts)."""

    name = "random_tickets"
    uses_data = _ReadsDataWithScoredRule()  # type: ignore[assignment]
    summary = "random masks with a layer-ratio rule, weights at initialisation"
    rule: str = "smart"

    def validate(self):
        _ratio_rule(self, self.rule)
        return self

    def run(self, ctx):
        model = steps.initial_model(ctx)
        mask = steps.prune(ctx, lambda: steps.random_layerwise_mask(ctx, model, self.rule))
        return steps.retrain(ctx, model, mask)


class _ReleasedCode(Method):
    """Methods with a `fidelity` option (see `tickets.pruning.fidelity` and docs/FIDELITY.md).

    Their identity always names the fidelity, except "v1" (this project's first implementation),
    whose identities are exactly the ones stored before the option existed: old results keep their
    keys and mean what they meant, new defaults get new keys."""

    def identity(self) -> dict[str, Any]:
        out = {"name": self.name, **to_plain(self)}
        if self.fidelity == fidelity_rules.V1:  # type: ignore[attr-defined]
            out.pop("fidelity", None)
        else:
            out["fidelity"] = self.fidelity  # type: ignore[attr-defined]
        return out

    def variant_options(self) -> dict[str, Any]:
        """Non-default options, `fidelity=v1` included: the released behaviour is the papers'
        setting (variant ""), the old one is labelled even though its key omits it."""
        return dict(to_plain(self))

    def canonical(self, dataset, model):
        return fidelity_rules.canonical(self, dataset, model)

    def resolved(self, dataset, model):
        return fidelity_rules.resolved(self, dataset, model)

    def _check_fidelity(self) -> None:
        if self.fidelity not in fidelity_rules.FIDELITIES:  # type: ignore[attr-defined]
            raise UserError(f"method {self.name}: fidelity must be one of "
                            f"{', '.join(fidelity_rules.FIDELITIES)}, got {self.fidelity!r}")  # type: ignore[attr-defined]


def _optional_positive_int(method: Method, option: str) -> None:
    if getattr(method, option) is not None:
        _positive_int(method, option)


@METHODS.register()
@dataclass(frozen=True)
class Snip(_ReleasedCode):
    """SNIP: |g ⊙ w| summed over `iterations` batches of `samples_per_class` examples per class
    (drawn with training augmentation), one global threshold. None = as the seed code does for
    the dataset/network (10 x 1; 1 x 10 on Tiny-ImageNet and ResNets deeper than 32)."""

    name = "snip"
    summary = "connection sensitivity |g*w| at initialisation"
    samples_per_class: int | None = None
    iterations: int | None = None
    augment: bool | None = None
    fidelity: str = fidelity_rules.RELEASED

    def validate(self):
        _optional_positive_int(self, "samples_per_class")
        _optional_positive_int(self, "iterations")
        self._check_fidelity()
        return self

    def run(self, ctx):
        m = self.resolved(ctx.dataset, ctx.model_name)
        model = steps.initial_model(ctx)
        mask = steps.prune(ctx, lambda: steps.scored_global_mask(
            ctx, model, "snip", samples_per_class=m.samples_per_class, iterations=m.iterations,
            augment=m.augment))
        return steps.retrain(ctx, model, mask)


@METHODS.register()
@dataclass(frozen=True)
class Grasp(_ReleasedCode):
    """GraSP: score −θ ⊙ Hg (temperature 200), removes the highest scores globally. As released:
    every nn.Linear re-drawn (xavier normal) in the scored copy, g and Hg accumulated over the two
    class-grouped halves of each batch, batches augmented; None options as for `snip`."""

    name = "grasp"
    summary = "gradient-signal preservation -w*Hg at initialisation"
    samples_per_class: int | None = None
    temperature: float = 200.0
    iterations: int | None = None
    augment: bool | None = None
    reinit_classifier: bool | None = None
    half_batches: bool | None = None
    fidelity: str = fidelity_rules.RELEASED

    def validate(self):
        _optional_positive_int(self, "samples_per_class")
        _optional_positive_int(self, "iterations")
        _positive(self, "temperature")
        self._check_fidelity()
        return self

    def run(self, ctx):
        model = steps.initial_model(ctx)
        mask = steps.prune(ctx, lambda: self.mask(ctx, model))
        return steps.retrain(ctx, model, mask)

    def mask(self, ctx, model):
        m = self.resolved(ctx.dataset, ctx.model_name)
        return steps.scored_global_mask(
            ctx, model, "grasp", samples_per_class=m.samples_per_class, iterations=m.iterations,
            augment=m.augment, half_batches=m.half_batches, temperature=m.temperature,
            reinit_classifier=m.reinit_classifier)


@METHODS.register()
@dataclass(frozen=True)
class Synflow(_ReleasedCode):
    """SynFlow: data-free iterative synaptic-flow pruning with an exponential schedule. As released,
    round k keeps N − int((1 − d^(k/R))·N) weights with d = 1 − p (`fidelity="v1"`:
    round(N·d^(k/R))). `schedule_density`: "nominal" (d = 1 − p, released) or "kept"
    (d = round(N(1−p))/N, what this project did before); None = "nominal" under `released`,
    "kept" under `v1`. Identities name `schedule_density: nominal` whenever it is in force, so
    keys stored with the "kept" schedule stay those runs' keys (docs/FIDELITY.md, item 10)."""

    name = "synflow"
    uses_data = False
    summary = "iterative synaptic flow, no data"
    iterations: int = 100
    fidelity: str = fidelity_rules.RELEASED
    schedule_density: str | None = None

    SCHEDULE_DENSITIES: ClassVar[tuple[str, ...]] = ("nominal", "kept")

    def validate(self):
        _positive_int(self, "iterations")
        self._check_fidelity()
        if self.schedule_density is not None and self.schedule_density not in self.SCHEDULE_DENSITIES:
            raise UserError(f"method synflow: schedule_density must be one of "
                            f"{', '.join(self.SCHEDULE_DENSITIES)} (or auto), got {self.schedule_density!r}")
        return self

    def density_rule(self) -> str:
        """The schedule density in force: explicit, else what the fidelity does."""
        if self.schedule_density is not None:
            return self.schedule_density
        return "kept" if self.fidelity == fidelity_rules.V1 else "nominal"

    def identity(self) -> dict[str, Any]:
        out = super().identity()
        out.pop("schedule_density", None)
        if self.density_rule() == "nominal":  # the kept schedule is what every older key computed
            out["schedule_density"] = "nominal"
        return out

    def canonical(self, dataset, model):
        # an explicit value equal to the fidelity's own is the default
        base = super().canonical(dataset, model)
        if base.schedule_density is not None and base.schedule_density == dataclasses.replace(
                base, schedule_density=None).density_rule():
            return dataclasses.replace(base, schedule_density=None)
        return base

    def resolved(self, dataset, model):
        return dataclasses.replace(super().resolved(dataset, model), schedule_density=self.density_rule())

    def run(self, ctx):
        model = steps.initial_model(ctx)
        mask = steps.prune(ctx, lambda: self.mask(ctx, model))
        return steps.retrain(ctx, model, mask)

    def mask(self, ctx, model):
        rule = "round" if self.fidelity == fidelity_rules.V1 else "reference"
        return steps.synflow_mask(ctx, model, self.iterations, rule=rule,
                                  nominal_density=self.density_rule() == "nominal")


# --------------------------------------------------------------------------- after training

@dataclass(frozen=True)
class _MagnitudeAfterTraining(Method):
    """Shared option of the methods that prune a trained dense network by global magnitude."""

    needs_pretrain = True
    prune_classifier: bool = False

    def trained_mask(self, ctx, trained):
        return steps.magnitude_global_mask(ctx, trained, prune_classifier=self.prune_classifier)


@METHODS.register()
@dataclass(frozen=True)
class LotteryTicket(_MagnitudeAfterTraining):
    """One-shot lottery ticket: magnitude-prune the trained network, rewind survivors to init."""

    name = "lt"
    summary = "one-shot lottery ticket (global magnitude, rewind to initialisation)"

    def run(self, ctx):
        trained = steps.pretrained_model(ctx)
        mask = steps.prune(ctx, lambda: self.trained_mask(ctx, trained))
        return steps.retrain(ctx, steps.pretrained_model(ctx, epoch=0), mask)


@METHODS.register()
@dataclass(frozen=True)
class IterativeMagnitude(_MagnitudeAfterTraining):
    """Iterative magnitude pruning: R rounds of train → prune → rewind to init, then retrain."""

    name = "imp"
    summary = "iterative magnitude pruning with rewinding to initialisation"
    rounds: int = 5

    def validate(self):
        _positive_int(self, "rounds")
        return self

    def run(self, ctx):
        def rounds_mask():
            trained, mask = steps.pretrained_model(ctx), None
            for r in range(1, self.rounds + 1):
                sparsity = 1 - (1 - ctx.sparsity) ** (r / self.rounds)
                mask = steps.magnitude_global_mask(ctx, trained, prune_classifier=self.prune_classifier,
                                                   sparsity=sparsity, within=mask)
                if r < self.rounds:
                    trained = steps.train_round(ctx, steps.pretrained_model(ctx, epoch=0), mask,
                                                phase=f"round{r}")
            return mask

        mask = steps.prune(ctx, rounds_mask)
        return steps.retrain(ctx, steps.pretrained_model(ctx, epoch=0), mask)


@METHODS.register()
@dataclass(frozen=True)
class WeightRewinding(_MagnitudeAfterTraining):
    """Weight rewinding: survivors rewound to epoch k of pretraining, retrain the rest of the schedule."""

    name = "wr"
    summary = "weight rewinding to epoch k of pretraining"
    rewind_epoch: int = 5

    def validate(self):
        _positive_int(self, "rewind_epoch", minimum=0)
        return self

    def rewind_epochs(self):
        return (self.rewind_epoch,)

    def run(self, ctx):
        trained = steps.pretrained_model(ctx)
        mask = steps.prune(ctx, lambda: self.trained_mask(ctx, trained))
        rewound = steps.pretrained_model(ctx, epoch=self.rewind_epoch)
        return steps.retrain(ctx, rewound, mask, config=steps.schedule_from(ctx.config, self.rewind_epoch))


@METHODS.register()
@dataclass(frozen=True)
class LearningRateRewinding(_MagnitudeAfterTraining):
    """Learning-rate rewinding: keep the trained survivors, retrain with the full original schedule."""

    name = "lrr"
    summary = "learning-rate rewinding (keep trained weights, full schedule)"

    def run(self, ctx):
        trained = steps.pretrained_model(ctx)
        mask = steps.prune(ctx, lambda: self.trained_mask(ctx, trained))
        return steps.retrain(ctx, trained, mask)


@METHODS.register()
@dataclass(frozen=True)
class HybridTickets(Method):
    """Hybrid tickets: pretrain as LRR, layer-wise magnitude with ratio-rule keep counts, full schedule."""

    name = "hybrid"
    needs_pretrain = True
    summary = "layer-wise magnitude with smart-ratio counts on the trained network, LRR retraining"
    rule: str = "smart"

    def validate(self):
        _ratio_rule(self, self.rule)
        return self

    def run(self, ctx):
        trained = steps.pretrained_model(ctx)
        mask = steps.prune(ctx, lambda: steps.magnitude_layerwise_mask(ctx, trained, self.rule))
        return steps.retrain(ctx, trained, mask)


@METHODS.register()
@dataclass(frozen=True)
class OptimalBrainDamage(Method):
    """OBD: saliency ½·h_ii·w² of the trained network, one global threshold, LRR-style retraining."""

    name = "obd"
    needs_pretrain = True
    summary = "optimal brain damage saliency on the trained network"
    samples_per_class: int = 10
    hutchinson_samples: int = 4
    prune_classifier: bool = True

    def validate(self):
        _positive_int(self, "samples_per_class")
        _positive_int(self, "hutchinson_samples")
        return self

    def run(self, ctx):
        trained = steps.pretrained_model(ctx)
        mask = steps.prune(ctx, lambda: steps.scored_global_mask(
            ctx, trained, "obd", samples_per_class=self.samples_per_class,
            hutchinson_samples=self.hutchinson_samples, prune_classifier=self.prune_classifier))
        return steps.retrain(ctx, trained, mask)


@METHODS.register()
@dataclass(frozen=True)
class ScratchE(_MagnitudeAfterTraining):
    """Scratch-E: the magnitude-pruned architecture trained from a fresh initialisation, same epochs."""

    name = "scratch_e"
    summary = "pruned architecture from a fresh initialisation, same epochs"

    def run(self, ctx):
        trained = steps.pretrained_model(ctx)
        mask = steps.prune(ctx, lambda: self.trained_mask(ctx, trained))
        fresh = steps.initial_model(ctx, seed=ctx.seed + SCRATCH_SEED_OFFSET)
        return steps.retrain(ctx, fresh, mask)


@METHODS.register()
@dataclass(frozen=True)
class ScratchB(_MagnitudeAfterTraining):
    """Scratch-B: like Scratch-E, epochs scaled by dense/sparse FLOPs (capped at `max_scale`)."""

    name = "scratch_b"
    summary = "pruned architecture from a fresh initialisation, same FLOPs budget"
    max_scale: float = 2.0

    def validate(self):
        if not isinstance(self.max_scale, (int, float)) or self.max_scale < 1:
            raise UserError(f"method {self.name}: max_scale must be >= 1, got {self.max_scale!r}")
        return self

    def run(self, ctx):
        trained = steps.pretrained_model(ctx)
        mask = steps.prune(ctx, lambda: self.trained_mask(ctx, trained))
        fresh = steps.initial_model(ctx, seed=ctx.seed + SCRATCH_SEED_OFFSET)
        scale = min(self.max_scale, steps.flops_ratio(ctx, fresh, mask))
        epochs = max(1, round(ctx.config.epochs * scale)) if ctx.config.epochs else 0
        return steps.retrain(ctx, fresh, mask, config=ctx.config.scaled_to(epochs))


# --------------------------------------------------------------------------- lookup

def method_names() -> list[str]:
    return METHODS.names()


def method_from(method: "str | Method | Mapping[str, Any]", options: Mapping[str, Any] | None = None) -> Method:
    """A validated method instance from a name (+ options), an instance (+ overrides), or a spec
    mapping {"name": ..., **options} as stored in a run's spec. Option strings (from the CLI) are
    converted to the option's type."""
    options = dict(options or {})
    if isinstance(method, Method):
        cls, base = type(method), method.options()
    elif isinstance(method, Mapping):
        spec = dict(method)
        name = spec.pop("name", None)
        if name is None:
            raise UserError(f"method spec {dict(method)!r} has no 'name'")
        cls, base = METHODS.get(str(name)), spec
    elif isinstance(method, str):
        cls, base = METHODS.get(method), {}
    else:
        raise UserError(f"a method is a name or a method object, got {method!r}")
    merged = {**base, **options}
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(merged) - set(fields))
    if unknown:
        known = ", ".join(f"{f.name} (default {f.default!r})" for f in fields.values()) or "none"
        raise UserError(f"unknown option {unknown[0]!r} for method {cls.name}; accepted options: {known}")
    hints = typing.get_type_hints(cls)
    values = {k: _coerce(cls.name, k, v, hints.get(k)) for k, v in merged.items()}
    return cls(**values).validate()


def _coerce(method: str, option: str, value: Any, hint: Any) -> Any:
    """Turn CLI strings (and JSON numbers) into the option's declared type. An option declared
    `X | None` (None = "as the released code does here") accepts None or "auto" for None."""
    args = typing.get_args(hint)
    if type(None) in args:
        if value is None or (isinstance(value, str) and value.strip().lower() in ("auto", "none")):
            return None
        rest = [a for a in args if a is not type(None)]
        hint = rest[0] if len(rest) == 1 else hint
    try:
        if hint is bool:
            if isinstance(value, str):
                low = value.strip().lower()
                if low in ("1", "true", "yes", "on"):
                    return True
                if low in ("0", "false", "no", "off"):
                    return False
                raise ValueError(value)
            if isinstance(value, (bool, int)) and value in (0, 1):
                return bool(value)
            raise ValueError(value)
        if hint is int:
            if isinstance(value, bool):
                raise ValueError(value)
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            return int(value)
        if hint is float:
            if isinstance(value, bool):
                raise ValueError(value)
            return float(value)
        if hint is str:
            if not isinstance(value, str):
                raise ValueError(value)
            return value
    except (TypeError, ValueError):
        name = getattr(hint, "__name__", str(hint))
        raise UserError(f"method {method}: option {option} must be {name}, got {value!r}") from None
    return value


# the structured methods register themselves into METHODS (tickets.pruning.structured.methods)
from tickets.pruning.structured import methods as _structured_methods  # noqa: E402,F401
from tickets.pruning import weight_level as _weight_level  # noqa: E402,F401  (weight_level)
from tickets.pruning import soft_filter as _soft_filter  # noqa: E402,F401  (sfp)
