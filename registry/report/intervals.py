"""Interval rules for bolding: the half-width of the best row's interval, from its std and n.

`std` is the paper's rule (mean ± sample std); `sem` is the standard error; `t95` the two-sided
95 % Student-t interval. No scipy: t quantiles for small df come from a table, larger df from the
Cornish-Fisher expansion around the normal quantile (error < 1e-4 for df > 30)."""
from __future__ import annotations

import math
from typing import Callable

from registry.naming import Registry

IntervalRule = Callable[[float, int], float]  # (sample std, n) -> half-width
INTERVALS: Registry[IntervalRule] = Registry("interval rule")

# two-sided 95 % quantiles t_{0.975, df}, df = 1..30
_T975 = (12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281,
         2.2010, 2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860,
         2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423)
_Z975 = 1.959963984540054


def t975(df: int) -> float:
    """Two-sided 95 % Student-t quantile for `df` degrees of freedom."""
    if df < 1:
        raise ValueError("t quantile needs at least one degree of freedom")
    if df <= len(_T975):
        return _T975[df - 1]
    z = _Z975
    g1 = (z ** 3 + z) / 4
    g2 = (5 * z ** 5 + 16 * z ** 3 + 3 * z) / 96
    g3 = (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / 384
    return z + g1 / df + g2 / df ** 2 + g3 / df ** 3


@INTERVALS.register("std", help="mean ± sample std (the paper's rule)")
def std_interval(std: float, n: int) -> float:
    return std


@INTERVALS.register("sem", help="mean ± standard error (std / sqrt(n))")
def sem_interval(std: float, n: int) -> float:
    return std / math.sqrt(n)


@INTERVALS.register("t95", help="95 % Student-t interval (t * std / sqrt(n))")
def t95_interval(std: float, n: int) -> float:
    return t975(n - 1) * std / math.sqrt(n)
