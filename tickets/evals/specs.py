"""Evaluations a study can ask for, by name: each is a frozen dataclass of its options.

    evals=("calibration", "ood:mnist", "ood:noise", "fgsm", "pgd", Pgd(eps=4/255))

Text form: `name` or `name:value` (the first option, e.g. the OoD set) or `name:opt=value,...`.
An evaluation's identity is its name plus the options that differ from their defaults (so adding
an option later never changes existing keys); its label (the `eval` column of the store) is the
text form of that identity: "calibration", "ood:digits", "pgd", "pgd:eps=0.0156863".

Attack defaults (ε = 8/255, PGD step 2/255, 20 iterations, L∞, random start) are the usual
CIFAR settings; docs/FIDELITY.md notes that the paper's text we could reach does not state them."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping

from registry.errors import UserError
from registry.identity import to_plain
from registry.naming import Registry

EVALS: Registry[type] = Registry("evaluation")


def _fmt(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class Evaluation:
    """Base: `name` is the registry name; subclasses add options with defaults."""

    name = ""

    def options(self) -> dict[str, Any]:
        return {f.name: to_plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def identity(self) -> dict[str, Any]:
        """Name plus non-default options: what the eval stage's key hashes."""
        out: dict[str, Any] = {"name": self.name}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.default is dataclasses.MISSING or to_plain(value) != to_plain(f.default):
                out[f.name] = to_plain(value)
        return out

    def label(self) -> str:
        ident = self.identity()
        ident.pop("name")
        positional = self.positional()
        head = [_fmt(ident.pop(positional))] if positional in ident else []
        rest = [f"{k}={_fmt(v)}" for k, v in sorted(ident.items())]
        return self.name + (":" + ",".join(head + rest) if head or rest else "")

    @classmethod
    def positional(cls) -> str | None:
        """The option written without its name ("ood:mnist"); None when every option is named."""
        return None

    def check(self) -> None:
        """Raise UserError for options out of range (called at planning time)."""


@EVALS.register("calibration")
@dataclass(frozen=True)
class Calibration(Evaluation):
    """ECE (equal-width bins), NLL, Brier and accuracy on the test set; a reliability diagram."""

    bins: int = 15
    name = "calibration"

    def check(self) -> None:
        if not isinstance(self.bins, int) or self.bins < 1:
            raise UserError(f"calibration bins must be a positive integer, got {self.bins!r}")


@EVALS.register("ood")
@dataclass(frozen=True)
class Ood(Evaluation):
    """In-distribution test set vs the OoD set `dataset`: MSP and energy AUROC, AUPR, FPR@95%TPR."""

    dataset: str
    name = "ood"

    @classmethod
    def positional(cls) -> str | None:
        return "dataset"

    def check(self) -> None:
        from tickets.evals.oodsets import ood_names

        if self.dataset not in ood_names():
            raise UserError(f"unknown OoD set {self.dataset!r}; known: {', '.join(ood_names())}")


# An attack's cost is linear in its steps (each a forward and backward pass over the attacked test
# images): 20 is the usual CIFAR PGD, a few hundred a strong one; 10^9 would run for years.
MAX_ATTACK_STEPS = 10_000


@dataclass(frozen=True)
class _Attack(Evaluation):
    def check(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.name == "steps":
                if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ATTACK_STEPS:
                    raise UserError(f"{self.name} steps must be an integer in [1, {MAX_ATTACK_STEPS}], got {value!r}")
            elif field.name != "samples" and (not isinstance(value, (int, float)) or not 0 < value <= 1):
                raise UserError(f"{self.name} {field.name} must be in (0, 1] (pixel scale), got {value!r}")
        if not isinstance(self.samples, int) or self.samples < 0:
            raise UserError(f"{self.name} samples must be a non-negative integer (0 = the whole test set), "
                            f"got {self.samples!r}")


@EVALS.register("fgsm")
@dataclass(frozen=True)
class Fgsm(_Attack):
    """Accuracy under FGSM (one signed-gradient step of size ε, L∞)."""

    eps: float = 8 / 255
    samples: int = 0  # test images attacked; 0 = all
    name = "fgsm"


@EVALS.register("pgd")
@dataclass(frozen=True)
class Pgd(_Attack):
    """Accuracy under PGD L∞: `steps` steps of size `alpha` from a random start in the ε-ball."""

    eps: float = 8 / 255
    alpha: float = 2 / 255
    steps: int = 20
    samples: int = 0
    name = "pgd"


def _value(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_eval(value: Any) -> Evaluation:
    """An Evaluation from its text form, a {"name": ..., options} mapping or an instance."""
    if isinstance(value, Evaluation):
        value.check()
        return value
    if isinstance(value, Mapping):
        options = dict(value)
        name = str(options.pop("name", ""))
    elif isinstance(value, str) and value.strip():
        name, _, rest = value.strip().partition(":")
        options = {}
        cls = EVALS.get(name)
        for i, part in enumerate(p for p in rest.split(",") if p.strip()):
            key, eq, text = part.partition("=")
            if not eq:
                if i or cls.positional() is None:
                    raise UserError(f"evaluation {value!r}: expected option=value, got {part!r}")
                key, text = cls.positional(), part
            options[key.strip()] = _value(text.strip())
    else:
        raise UserError(f"an evaluation is a name such as 'calibration' or 'ood:mnist', got {value!r}")
    cls = EVALS.get(name)
    known = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise UserError(f"unknown option {unknown[0]!r} for evaluation {name}; known: {', '.join(known) or 'none'}")
    missing = [f.name for f in dataclasses.fields(cls) if f.name not in options
               and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    if missing:  # "ood:" says which option it lacks in our words, not Python's
        example = f"{name}:VALUE" if cls.positional() == missing[0] else f"{name}:{missing[0]}=VALUE"
        hint = ""
        if name == "ood":
            from tickets.evals.oodsets import ood_names

            example, hint = "ood:mnist", f"; known OoD sets: {', '.join(ood_names())}"
        raise UserError(f"evaluation {value!r} needs its {missing[0]} (e.g. {example}){hint}")
    try:
        evaluation = cls(**options)
    except TypeError as exc:
        raise UserError(f"evaluation {name}: {exc}") from None
    evaluation.check()
    return evaluation
