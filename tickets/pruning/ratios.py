"""Layer-wise keep ratios: how many weights each prunable layer keeps at a global sparsity.

A rule is registered in `RATIOS` as `fn(layers, sparsity, family) -> list[int]` (kept count per
layer, same order as `layers`). `layers` is a list of `Layer(name, shape)` in registration order,
classifier last; `family` is the model's family label ("vgg" | "resnet" | "mlp" | "lenet", a plugin's own, or None);
only "vgg" changes a rule (the smart ratios' extra 1/l^2), so any registered model works with every rule.

API
    RATIOS                                     Registry("ratio rule")
    layers_of(model) -> list[Layer]            the prunable layers of a model
    keep_counts(rule, model_or_layers, sparsity, family=None) -> {param_name: kept}
    plan_ratios(rule, model_or_layers, sparsity, family=None) -> RatioPlan
        RatioPlan.rows: [{layer, shape, weights, kept, keep_ratio}], .total, .kept,
        .achieved_sparsity, .target_sparsity, .rule
    erk_densities(layers, sparsity, kind="erk") -> list[float]   the real-valued ERK/ER solution

Rules (DESIGN.md section 4):
    smart        the seed paper's smart ratios (Appendix C and its public code): classifier keeps
                 floor(0.3 n_C); layer l = 1..L (L counts every prunable layer, classifier included)
                 gets r_l = (L-l+1)^2 + (L-l+1), divided by l^2 for VGG; one factor scales the
                 non-classifier ratios so sum(ratio_l n_l) = floor(N(1-p)) - floor(0.3 n_C);
                 a layer with ratio >= 1 becomes dense and pushes floor((ratio-1) n_l) into the
                 following layers' free room floor((1-ratio) n_l), in order; kept = floor(ratio n_l).
    ascend       same with r_l = l^2 + l              (paper ablation; VGG still divides by l^2,
    linear       same with r_l = L-l+1                 as the public code does for every
    cubic        same with r_l = (L-l+1)^3             smart-ratio variant)
    smart_uniform  the paper's "uniform" ablation: classifier 0.3, every other layer the same ratio
    uniform      every layer, classifier included, keeps floor((1-p) n_l)
    erk, er      Random Pruning paper: density ∝ sum(dims)/prod(dims) (ERK, kernel dims included)
                 or (n_in+n_out)/(n_in n_out) (ER), one epsilon solving sum d_l n_l = (1-p) N,
                 layers with eps raw_l > 1 made dense and epsilon re-solved until none exceed 1
    uniform_plus first layer dense, classifier at least 0.2, the rest one uniform ratio so the
                 global density holds
    erk_plus     Random Pruning paper's ERK+ (released ImageNet/core.py `ERK_plus`): the classifier
                 keeps density `fc_density` (default 1.0, in (0, 1]), ERK over every other layer
                 at the density that leaves the global budget: (1-p)N - fc_density n_C over the rest
    snip_ratio   Random Pruning paper's "SNIP ratio" (`--sparse_init snip`): the per-layer counts of
    grasp_ratio  a SNIP / GraSP mask of the network at initialisation, positions re-drawn at random.
                 They need the model and training data, so `plan_ratios` refuses them; the pruning
                 step computes them (`tickets.pruning.steps.layer_counts`). Registered with meta
                 `scorer` (see `scored_rule`).

A rule may carry options after a colon, `erk_plus:fc_density=0.5` (only rules declaring them).

Sparsity 0 means dense for every rule. A rule that cannot reach the target raises UserError naming
the layer and why."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from registry.errors import UserError
from registry.naming import Registry

RATIOS: Registry[Callable[..., list[int]]] = Registry("ratio rule")

CLASSIFIER_KEEP = 0.3  # smart ratios: fixed keep ratio of the last (classifier) layer
UNIFORM_PLUS_CLASSIFIER = 0.2  # uniform+: minimum density of the classifier
ERK_PLUS_FC_DENSITY = 1.0  # ERK+: the released `--fc_density` default (ImageNet/core.py)


def parse_rule(rule: str) -> tuple[str, dict[str, float]]:
    """`name` or `name:key=value,...` -> (name, {key: float}); unknown rules and options are
    UserErrors naming what is accepted."""
    if not isinstance(rule, str) or not rule.strip():
        raise UserError(f"a ratio rule is a name, got {rule!r}")
    name, _, rest = rule.strip().partition(":")
    RATIOS.get(name)
    accepted = RATIOS.meta(name).get("options", {})
    options: dict[str, float] = {}
    for part in filter(None, (x.strip() for x in rest.split(","))):
        key, eq, value = part.partition("=")
        key = key.strip()
        if key not in accepted or not eq:
            what = ", ".join(f"{k} (default {v:g})" for k, v in accepted.items()) or "none"
            raise UserError(f"ratio rule {name}: bad option {part!r}; accepted options: {what}")
        try:
            options[key] = float(value)
        except ValueError:
            raise UserError(f"ratio rule {name}: option {key} must be a number, got {value!r}") from None
    return name, options


def scored_rule(rule: str) -> str | None:
    """The scorer whose mask a rule takes its per-layer counts from (snip_ratio: "snip"), else None."""
    return RATIOS.meta(parse_rule(rule)[0]).get("scorer")


@dataclass(frozen=True)
class Layer:
    name: str  # parameter name, e.g. "features.0.weight"
    shape: tuple[int, ...]

    @property
    def weights(self) -> int:
        return math.prod(self.shape)


@dataclass(frozen=True)
class RatioPlan:
    rule: str
    target_sparsity: float
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(r["weights"] for r in self.rows)

    @property
    def kept(self) -> int:
        return sum(r["kept"] for r in self.rows)

    @property
    def achieved_sparsity(self) -> float:
        return 1.0 - self.kept / self.total if self.total else 0.0

    def counts(self) -> dict[str, int]:
        return {r["layer"]: r["kept"] for r in self.rows}

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "target_sparsity": self.target_sparsity, "layers": self.rows,
                "total": self.total, "kept": self.kept, "achieved_sparsity": self.achieved_sparsity,
                "warnings": self.warnings()}

    def warnings(self) -> list[str]:
        """One line per layer the rule empties. A layer with no weights cuts the network: the first
        conv or the classifier (and any VGG/MLP layer) then gives the same output for every input,
        so the run trains to chance accuracy; inside a residual block only the shortcut is left.
        (The released code does the same: `ascend` on ResNet32 empties the first conv.)"""
        out = []
        last = len(self.rows) - 1
        for i, r in enumerate(self.rows):
            if r["kept"] == 0 and r["weights"] > 0:
                where = ("first layer" if i == 0 else "classifier" if i == last else "layer")
                in_block = 0 < i < last and r["layer"].startswith("layer")  # a ResNet block's conv
                effect = ("leaves only the block's shortcut path (or cuts the network where there is none)"
                          if in_block else
                          "disconnects the network: every input gives the same output, chance accuracy")
                out.append(f"rule {self.rule} at sparsity {self.target_sparsity:g} keeps 0 of "
                           f"{r['weights']:,} weights in {where} {r['layer']}: {effect}")
        return out


def _floor(x: float) -> int:
    """floor, forgiving float noise: (1 - 0.9) * 1280 is 127.99999999999997 but means 128."""
    return math.floor(x + 1e-9 * max(1.0, abs(x)))


def check_sparsity(sparsity: float) -> float:
    try:
        p = float(sparsity)
    except (TypeError, ValueError):
        raise UserError(f"sparsity must be a number in [0, 1), got {sparsity!r}") from None
    if not 0.0 <= p < 1.0 or math.isnan(p):
        raise UserError(f"sparsity must be in [0, 1) (fraction of prunable weights pruned), got {sparsity}")
    return p


def layers_of(model_or_layers: Any) -> list[Layer]:
    """Accept a model (its prunable weights), a list of Layer, or a list of (name, shape)."""
    if hasattr(model_or_layers, "named_modules"):
        from tickets.pruning.masks import prunable_weights

        return [Layer(n, tuple(w.shape)) for n, w in prunable_weights(model_or_layers)]
    out = []
    for item in model_or_layers:
        out.append(item if isinstance(item, Layer) else Layer(str(item[0]), tuple(item[1])))
    return out


def _infer_family(model_or_layers: Any) -> str | None:
    fam = getattr(model_or_layers, "family", None)
    if isinstance(fam, str):
        return fam
    cls = type(model_or_layers).__name__.lower()
    for name in ("vgg", "resnet", "lenet", "mlp"):
        if cls.startswith(name):
            return name
    return None


def plan_ratios(rule: str, model_or_layers: Any, sparsity: float, family: str | None = None) -> RatioPlan:
    """Per-layer kept counts of `rule` at `sparsity`; `family` decides VGG's extra 1/l^2.

    With a model and no family, the family is read from a `family` attribute or the class name."""
    p = check_sparsity(sparsity)
    name, options = parse_rule(rule)
    fn = RATIOS.get(name)
    if scored_rule(rule) and p > 0.0:
        raise UserError(f"ratio rule {name} takes its per-layer counts from a "
                        f"{scored_rule(rule)} mask of the network at initialisation on training data; "
                        f"it has no plan without them: use it in random_tickets (e.g. "
                        f"RandomTickets(rule={name!r})) or pick another rule")
    layers = layers_of(model_or_layers)
    if not layers:
        raise UserError("the model has no prunable (conv or linear) layers")
    if family is None:
        family = _infer_family(model_or_layers)
    kept = [L.weights for L in layers] if p == 0.0 else list(fn(layers, p, family, **options))
    rows = []
    for L, k in zip(layers, kept):
        k = int(k)
        assert 0 <= k <= L.weights, (rule, L.name, k, L.weights)
        rows.append({"layer": L.name, "shape": list(L.shape), "weights": L.weights, "kept": k,
                     "keep_ratio": k / L.weights if L.weights else 1.0})
    return RatioPlan(rule=rule, target_sparsity=p, rows=rows)


def keep_counts(rule: str, model_or_layers: Any, sparsity: float, family: str | None = None) -> dict[str, int]:
    """{param_name: kept count} of `rule` at `sparsity`."""
    return plan_ratios(rule, model_or_layers, sparsity, family).counts()


# ---------------------------------------------------------------- smart ratios and ablations

def _smart_family(layers: Sequence[Layer], p: float, family: str | None,
                  raw: Callable[[int, int], float]) -> list[int]:
    """The smart-ratio recipe with raw score raw(l, L); see the module docstring."""
    L = len(layers)
    sizes = [x.weights for x in layers]
    total = sum(sizes)
    classifier = layers[-1]
    cls_keep = _floor(CLASSIFIER_KEEP * classifier.weights)
    goal = _floor(total * (1 - p)) - cls_keep
    body = list(range(L - 1))  # indices of the non-classifier layers
    if goal < 0:
        raise UserError(
            f"sparsity {p} keeps {_floor(total * (1 - p))} weights but the classifier "
            f"{classifier.name} alone keeps {cls_keep} (fixed keep ratio {CLASSIFIER_KEEP}); "
            f"use a lower sparsity or another rule")
    if not body:
        return [cls_keep]
    scores = []
    for i in body:
        l = i + 1
        r = float(raw(l, L))
        if family == "vgg":
            r /= l * l
        scores.append(r)
    denom = sum(r * sizes[i] for i, r in zip(body, scores))
    scale = goal / denom
    ratios = [r * scale for r in scores]
    # Layers at ratio >= 1 become dense; their excess fills the following layers' free room.
    extra = 0
    for i in body:
        if ratios[i] >= 1:
            extra += math.floor((ratios[i] - 1) * sizes[i])
            ratios[i] = 1.0
        elif extra > 0:
            room = math.floor((1 - ratios[i]) * sizes[i])
            if room >= extra:
                ratios[i] += extra / sizes[i]
                extra = 0
            else:
                extra -= room
                ratios[i] = 1.0
    if extra > 0:
        raise UserError(
            f"sparsity {p} is too low for smart ratios: every layer but the classifier "
            f"{classifier.name} is dense and {extra} weights are left over, because the classifier "
            f"keeps a fixed {CLASSIFIER_KEEP}")
    kept = [min(sizes[i], _floor(ratios[i] * sizes[i])) for i in body]
    return kept + [cls_keep]


@RATIOS.register("smart", description="seed paper: classifier 0.3, (L-l+1)^2+(L-l+1), /l^2 for VGG")
def smart(layers, p, family):
    return _smart_family(layers, p, family, lambda l, L: (L - l + 1) ** 2 + (L - l + 1))


@RATIOS.register("ascend", description="smart-ratio ablation: ascending l^2+l")
def ascend(layers, p, family):
    return _smart_family(layers, p, family, lambda l, L: l * l + l)


@RATIOS.register("linear", description="smart-ratio ablation: linear decay L-l+1")
def linear(layers, p, family):
    return _smart_family(layers, p, family, lambda l, L: L - l + 1)


@RATIOS.register("cubic", description="smart-ratio ablation: cubic decay (L-l+1)^3")
def cubic(layers, p, family):
    return _smart_family(layers, p, family, lambda l, L: (L - l + 1) ** 3)


@RATIOS.register("smart_uniform", description="smart-ratio ablation: classifier 0.3, the rest uniform")
def smart_uniform(layers, p, family):
    return _smart_family(layers, p, None, lambda l, L: 1.0)


# ---------------------------------------------------------------- uniform, ERK, ER, uniform+

@RATIOS.register("uniform", description="every layer keeps the same fraction 1-p")
def uniform(layers, p, family):
    return [_floor((1 - p) * x.weights) for x in layers]


def _erk_raw(layer: Layer, kind: str) -> float:
    shape = layer.shape
    if kind == "er":
        n_out, n_in = shape[0], (shape[1] if len(shape) > 1 else 1)
        return (n_in + n_out) / (n_in * n_out)
    return sum(shape) / math.prod(shape)


def erk_densities(layers: Sequence[Layer], sparsity: float, kind: str = "erk") -> list[float]:
    """Real-valued densities d_l = min(1, eps raw_l) with sum d_l n_l = (1-p) N."""
    p = check_sparsity(sparsity)
    sizes = [x.weights for x in layers]
    budget = (1 - p) * sum(sizes)
    raw = [_erk_raw(x, kind) for x in layers]
    dense: set[int] = set()
    while True:
        rest = [i for i in range(len(layers)) if i not in dense]
        free = budget - sum(sizes[i] for i in dense)
        denom = sum(raw[i] * sizes[i] for i in rest)
        if not rest or denom <= 0:
            break
        eps = free / denom
        over = {i for i in rest if eps * raw[i] > 1}
        if not over:
            break
        dense |= over
    return [1.0 if i in dense else eps * raw[i] for i in range(len(layers))]


@RATIOS.register("erk", description="Erdos-Renyi-Kernel: density ∝ sum(dims)/prod(dims)")
def erk(layers, p, family):
    return [_floor(d * x.weights) for d, x in zip(erk_densities(layers, p, "erk"), layers)]


@RATIOS.register("er", description="Erdos-Renyi: density ∝ (n_in+n_out)/(n_in n_out)")
def er(layers, p, family):
    return [_floor(d * x.weights) for d, x in zip(erk_densities(layers, p, "er"), layers)]


@RATIOS.register("uniform_plus", description="first layer dense, classifier >= 0.2, the rest uniform")
def uniform_plus(layers, p, family):
    sizes = [x.weights for x in layers]
    total = sum(sizes)
    budget = (1 - p) * total
    first, last = layers[0], layers[-1]
    if len(layers) < 3:
        raise UserError(f"uniform_plus needs at least 3 prunable layers (first dense, classifier, "
                        f"the rest); this model has {len(layers)}")
    if sizes[0] > budget:
        raise UserError(f"uniform_plus keeps the first layer {first.name} dense ({sizes[0]} weights), "
                        f"more than the {_floor(budget)} weights sparsity {p} allows")
    middle = total - sizes[0] - sizes[-1]
    d = (budget - sizes[0]) / (total - sizes[0])  # everything after the first layer uniform
    cls_density = d
    if d < UNIFORM_PLUS_CLASSIFIER:
        cls_density = UNIFORM_PLUS_CLASSIFIER
        d = (budget - sizes[0] - cls_density * sizes[-1]) / middle
        if d < 0:
            raise UserError(
                f"uniform_plus cannot reach sparsity {p}: the dense first layer {first.name} and "
                f"the classifier {last.name} at density {UNIFORM_PLUS_CLASSIFIER} already exceed the budget")
    out = [sizes[0]]
    out += [_floor(d * n) for n in sizes[1:-1]]
    out.append(_floor(cls_density * sizes[-1]))
    return out


@RATIOS.register("erk_plus", description="ERK+: classifier at fc_density (default 1), ERK over the rest",
                 options={"fc_density": ERK_PLUS_FC_DENSITY})
def erk_plus(layers, p, family, fc_density: float = ERK_PLUS_FC_DENSITY):
    """Released `ERK_plus`: the rest's density is ((1-p)N - fc_density n_C) / (N - n_C), then ERK
    (epsilon re-solved with dense layers) over the rest at that density."""
    if not 0.0 < fc_density <= 1.0:
        raise UserError(f"ratio rule erk_plus: fc_density must be in (0, 1], got {fc_density:g}")
    if len(layers) < 2:
        raise UserError(f"erk_plus needs a classifier and at least one other prunable layer; "
                        f"this model has {len(layers)}")
    body, classifier = list(layers[:-1]), layers[-1]
    total = sum(x.weights for x in layers)
    rest = total - classifier.weights
    density = ((1 - p) * total - fc_density * classifier.weights) / rest
    if density <= 0:
        raise UserError(f"erk_plus cannot reach sparsity {p}: the classifier {classifier.name} at "
                        f"fc_density {fc_density:g} alone keeps {fc_density * classifier.weights:,.0f} "
                        f"of the {(1 - p) * total:,.0f} weights allowed; lower fc_density")
    if density > 1:
        raise UserError(f"erk_plus cannot reach sparsity {p} with fc_density {fc_density:g}: the other "
                        f"layers would need density {density:.3f} > 1; raise fc_density")
    kept = [_floor(d * x.weights) for d, x in zip(erk_densities(body, 1 - density, "erk"), body)]
    return kept + [_floor(fc_density * classifier.weights)]


def _needs_scores(layers, p, family):  # pragma: no cover - plan_ratios refuses scored rules first
    raise UserError("this ratio rule needs the model and training data")


RATIOS.register("snip_ratio", description="SNIP ratio: per-layer counts of a SNIP mask at init, random positions",
                scorer="snip")(_needs_scores)
RATIOS.register("grasp_ratio", description="GraSP ratio: per-layer counts of a GraSP mask at init, random positions",
                scorer="grasp")(_needs_scores)
