"""Published numbers as data: one CSV per table, one line per printed cell.

Columns: `row` (the Row.key of the declaration), any coordinate fields (dataset, model, sparsity,
...), `mean`, and `std` (empty for single values such as the full network or cited numbers). An empty
coordinate matches anything (the full network's sparsity). Optional `confirmed`: "no" marks a value
that could not be checked against the paper or its released code (a table shows it with
UNCONFIRMED_MARK and says so below); empty or "yes" (or no such column) is a checked value."""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from registry.errors import UserError

VALUE_COLUMNS = ("row", "mean", "std", "confirmed")
UNCONFIRMED_MARK = "?"


@dataclass(frozen=True)
class PaperValue:
    row: str
    coords: Mapping[str, str]
    mean: float
    std: float | None
    confirmed: bool = True


def load_paper(path: str | Path) -> list[PaperValue]:
    path = Path(path)
    if not path.exists():
        raise UserError(f"paper data {path} does not exist")
    values = []
    with path.open(newline="") as fh:
        for line in csv.DictReader(fh):
            coords = {k: v for k, v in line.items() if k not in VALUE_COLUMNS and v not in (None, "")}
            std = line.get("std")
            flag = (line.get("confirmed") or "yes").strip().lower()
            if flag not in ("yes", "no"):
                raise UserError(f"paper data {path}: confirmed must be yes, no or empty, got {flag!r} "
                                f"(row {line['row']!r})")
            values.append(PaperValue(line["row"], coords, float(line["mean"]),
                                     float(std) if std not in (None, "") else None, confirmed=flag == "yes"))
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
