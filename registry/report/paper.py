"""Published numbers as data: one CSV per table, one line per printed cell.

Columns: `row` (the Row.key of the declaration), any coordinate fields (dataset, model, sparsity,
...), `mean`, and `std` (empty for single values such as the full network or cited numbers). An empty
coordinate matches anything (the full network's sparsity).

Provenance (optional columns, never coordinates): `confirmed` ("yes"/"no"; empty = yes) says whether
the value was checked against a copy of the source we could read (a value recalled from a paper's
table but not re-read is "no", and reports mark it with "?"); `source` names where it comes from.
Lines whose `row` starts with "#" are comments."""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from registry.errors import UserError

VALUE_COLUMNS = ("row", "mean", "std", "confirmed", "source")
UNCONFIRMED_MARK = "?"


@dataclass(frozen=True)
class PaperValue:
    row: str
    coords: Mapping[str, str]
    mean: float
    std: float | None
    confirmed: bool = True
    source: str = ""


def load_paper(path: str | Path) -> list[PaperValue]:
    path = Path(path)
    if not path.exists():
        raise UserError(f"paper data {path} does not exist")
    values = []
    with path.open(newline="") as fh:
        for number, line in enumerate(csv.DictReader(fh), 2):
            if str(line.get("row") or "").startswith("#"):
                continue
            if None in line:  # an unquoted comma in a value
                raise UserError(f"{path}:{number}: more fields than the header names (quote values with commas)")
            coords = {k: v for k, v in line.items() if k not in VALUE_COLUMNS and v not in (None, "")}
            std, confirmed = line.get("std"), str(line.get("confirmed") or "yes").strip().lower()
            if confirmed not in ("yes", "no"):
                raise UserError(f"{path}:{number}: confirmed must be yes or no, got {confirmed!r}")
            values.append(PaperValue(line["row"], coords, float(line["mean"]),
                                     float(std) if std not in (None, "") else None,
                                     confirmed=confirmed == "yes", source=str(line.get("source") or "")))
    return values


def _same(expected: str, actual: Any) -> bool:
    if actual is None:
        return False
    try:
        return math.isclose(float(expected), float(actual), abs_tol=1e-9)
    except (TypeError, ValueError):
        return str(expected) == str(actual)


def lookup(values: list[PaperValue], row: str, coords: Mapping[str, Any]) -> PaperValue | None:
    """The paper's value for a cell: same row key, every non-empty coordinate equal."""
    for value in values:
        if value.row == row and all(k in coords and _same(v, coords[k]) for k, v in value.coords.items()):
            return value
    return None
