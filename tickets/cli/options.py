"""NAME=VALUE options shared by `tickets train`, `tickets run`, `tickets models` and `tickets ratios`.

Values stay strings until they meet the type they are for: TrainConfig's field types, a model
option's default, a method option's declared type (`method_from` converts those). So
`--set milestones=80,120` means the same to every command, and the same cell gets the same key
whichever command built it. No torch here: these run before any heavy import."""
from __future__ import annotations

import typing
from typing import Any

from registry.errors import UserError

TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def pairs(items: tuple[str, ...], option: str) -> dict[str, str]:
    """("a=1", "b=x") -> {"a": "1", "b": "x"}; anything without '=' is one clear error."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"{option} must look like key=value, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def _convert(value: str, hint: Any, what: str) -> Any:
    try:
        if hint is bool:
            low = value.lower()
            if low not in TRUE + FALSE:
                raise ValueError(value)
            return low in TRUE
        if hint is int:
            return int(value)
        if hint is float:
            return float(value)
        if typing.get_origin(hint) is tuple:
            return tuple(int(v) for v in value.strip("[]() ").replace(" ", "").split(",") if v)
        return value
    except ValueError:
        raise UserError(f"{what} must be {getattr(hint, '__name__', hint)}, got {value!r}") from None


def train_overrides(raw: dict[str, Any]) -> dict[str, Any]:
    """CLI strings to TrainConfig field types (ints, floats, bools, milestone lists like 80,120)."""
    from tickets.config import TrainConfig, field_names

    hints = typing.get_type_hints(TrainConfig)
    unknown = sorted(set(raw) - set(hints))
    if unknown:
        raise UserError(f"unknown training option {unknown[0]!r}; known: {', '.join(field_names())}")
    return {name: _convert(value, hints[name], f"training option {name}") if isinstance(value, str) else value
            for name, value in raw.items()}


def model_options(model: str, raw: dict[str, str]) -> dict[str, Any]:
    """CLI strings to each model option's type (taken from its default)."""
    if not raw:
        return {}
    from tickets.models import model_options as declared

    defaults = declared(model)
    out: dict[str, Any] = {}
    for name, value in raw.items():
        if name not in defaults:
            known = ", ".join(f"{k} (default {v})" for k, v in defaults.items()) or "none"
            raise UserError(f"unknown option {name!r} for model {model}; accepted options: {known}")
        out[name] = _convert(value, type(defaults[name]), f"model option {name}")
    return out
