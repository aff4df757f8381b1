"""Values that parse but cannot be true, refused before they reach the store.

Run files and exchange files are written by code, but anyone can edit or hand one over: a layer that
kept -5 weights, or more than it has, would count as 'pruned' in every table; a study name with a
comma splits into two memberships (`runs.studies` is comma-joined); a key that is not a key becomes a
path (`runs/../../..`). Each check raises one line naming the file and the value."""
from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from registry.errors import UserError
from registry.identity import KEY_LENGTH

_KEY = re.compile(rf"[0-9a-f]{{{KEY_LENGTH}}}")
KEY_WORDS = f"{KEY_LENGTH} lowercase hex digits"


def is_key(text: Any) -> bool:
    """A run key as the project makes them: the first KEY_LENGTH hex digits of a sha256."""
    return isinstance(text, str) and _KEY.fullmatch(text) is not None


def safe_rundir(runs_dir: Path, key: Any) -> Path | None:
    """runs_dir/key when that is a plain entry of runs_dir (no '/', '..', NUL, absolute path),
    else None: a stored key never builds a path outside runs/."""
    if not isinstance(key, str) or not key or key in (".", "..") or "/" in key or "\0" in key \
            or "\\" in key:
        return None
    path = runs_dir / key
    return path if path.parent == runs_dir else None


def _corrupt(message: str) -> UserError:
    from registry.ingest import CorruptRun

    return CorruptRun(message)


def check_rows(rundir: Path, rows: dict[str, list[dict[str, Any]]]) -> None:
    """Layer counts that cannot be: negative weights, kept outside [0, weights], a ratio outside [0, 1]."""
    path = rundir / "layers.json"
    for rec in rows.get("layers", []):
        weights, kept, ratio = rec.get("weights"), rec.get("kept"), rec.get("keep_ratio")
        name = rec.get("layer")
        if weights is not None and weights < 0:
            raise _corrupt(f"{path}: layer {name!r} has {weights} weights; a count is >= 0")
        if kept is not None and (kept < 0 or (weights is not None and kept > weights)):
            limit = f"[0, {weights}]" if weights is not None else ">= 0"
            raise _corrupt(f"{path}: layer {name!r} kept {kept} weights; expected {limit}")
        if ratio is not None and not (math.isfinite(ratio) and 0.0 <= ratio <= 1.0):
            raise _corrupt(f"{path}: layer {name!r} keep_ratio {ratio!r}; expected a fraction in [0, 1]")


def check_studies(rundir: Path, names: list[str]) -> list[str]:
    """Study names as `membership.check_name` accepts them (non-empty, no comma)."""
    for name in names:
        if not name.strip() or "," in name:
            raise _corrupt(f"{rundir / 'studies.json'}: study name {name!r} cannot be recorded "
                           f"(it must be non-empty and hold no comma)")
    return names


def integer(text: Any) -> int | None:
    """An integer read exactly ('9007199254740993' stays ...993; 5.0 is 5); None if it is not one."""
    if isinstance(text, bool):
        return None
    if isinstance(text, int):
        return text
    if isinstance(text, float):
        return int(text) if math.isfinite(text) and text.is_integer() and abs(text) < 2 ** 53 else None
    if isinstance(text, str):
        text = text.strip()
        if re.fullmatch(r"[+-]?\d+", text):
            return int(text)
        if re.fullmatch(r"[+-]?\d+\.0*", text):
            return int(text.split(".")[0])
    return None
