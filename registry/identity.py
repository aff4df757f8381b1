"""Run identity: canonical JSON with default-valued fields omitted, hashed with sha256.

Omitting defaults means adding a new option with a default never changes existing keys.
Code version is metadata, not identity."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

KEY_LENGTH = 16


def to_plain(obj: Any, defaults: Any = None) -> Any:
    """JSON-able form of `obj`; dataclass fields equal to their default are left out.

    `defaults` may be an instance of the same dataclass whose values count as the defaults
    (e.g. the per-dataset training defaults); otherwise the class's own field defaults do."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if defaults is not None and dataclasses.is_dataclass(defaults):
                default = getattr(defaults, f.name, dataclasses.MISSING)
            elif f.default is not dataclasses.MISSING:
                default = f.default
            elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
                default = f.default_factory()  # type: ignore[misc]
            else:
                default = dataclasses.MISSING
            if default is not dataclasses.MISSING and _equal(value, default):
                continue
            out[f.name] = to_plain(value)
        return out
    if isinstance(obj, Mapping):
        return {str(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    if isinstance(obj, float):
        if math.isnan(obj) or math.isinf(obj):
            raise ValueError(f"non-finite number {obj!r} cannot be part of a run identity")
        return obj
    return obj


def _equal(a: Any, b: Any) -> bool:
    return to_plain(a) == to_plain(b)


def _not_plain(obj: Any) -> Any:
    raise TypeError  # a dataclass or other non-JSON value: take the generic path


def canonical_json(obj: Any) -> str:
    """Sorted keys, no whitespace, floats in shortest repr: one string per identity.

    Plain JSON data (the common case when planning thousands of cells) is dumped directly; anything
    else (dataclasses, tuples) goes through `to_plain` first. Both paths give the same string."""
    try:
        return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False, default=_not_plain)
    except (TypeError, ValueError):
        return json.dumps(to_plain(obj), sort_keys=True, separators=(",", ":"), allow_nan=False)


def key_of(identity: Mapping[str, Any]) -> str:
    """The stage key: truncated sha256 of the canonical JSON of a plain identity mapping."""
    return hashlib.sha256(canonical_json(identity).encode()).hexdigest()[:KEY_LENGTH]
