"""The paper's bolding rule, as a pure function over one column's cells.

Per column (one dataset, network and sparsity): among rows that have a std (n >= 2) and are not
collapsed, the row with the best mean defines the interval mean ± half-width (half-width from the
interval rule: std by default); every such row whose mean lies inside it, inclusive, is bold, the
best one included. Rows without a std (single runs, cited numbers, the full network) and collapsed
rows are never bold and never define the best. Among rows tied for the best mean, the widest
interval is taken (the result does not depend on row order)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from registry.report.intervals import INTERVALS

TOLERANCE = 1e-9  # absolute slack for "inside, inclusive" against float noise


@dataclass(frozen=True)
class Candidate:
    mean: float | None
    std: float | None
    n: int
    collapsed: bool = False
    reference: bool = False

    @property
    def eligible(self) -> bool:
        return (not self.reference and not self.collapsed and self.n >= 2 and self.mean is not None
                and self.std is not None and not math.isnan(self.std) and not math.isnan(self.mean))


def bold_mask(cells: Sequence[Candidate], rule: str = "std") -> list[bool]:
    """Which of one column's cells are bold under interval rule `rule`."""
    half_width = INTERVALS.get(rule)
    eligible = [c for c in cells if c.eligible]
    if not eligible:
        return [False] * len(cells)
    best = max(c.mean for c in eligible)
    tied = [c for c in eligible if abs(c.mean - best) <= TOLERANCE]
    half = max(half_width(c.std, c.n) for c in tied)
    low, high = best - half - TOLERANCE, best + half + TOLERANCE
    return [c.eligible and low <= c.mean <= high for c in cells]
