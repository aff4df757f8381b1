"""The paper's bolding rule on its edge cases, and the interval rules."""
from __future__ import annotations

import math

import pytest

from registry.errors import UserError
from registry.report.bolding import Candidate, bold_mask
from registry.report.intervals import INTERVALS, t975


def C(mean, std=None, n=3, collapsed=False, reference=False):
    return Candidate(mean, std, n, collapsed, reference)


def test_best_row_and_rows_inside_its_std_interval_are_bold():
    # Table 1, VGG19, CIFAR-10, 95 %: RT 93.42±0.22 is best; LT and SNIP (93.39) lie inside.
    cells = [C(93.39, 0.13), C(93.39, 0.08), C(92.82, 0.20), C(93.42, 0.22)]
    assert bold_mask(cells) == [True, True, False, True]


def test_interval_boundary_is_inclusive():
    assert bold_mask([C(90.0, 0.5), C(89.5, 0.1), C(89.49, 0.1)]) == [True, True, False]


def test_ties_for_best_are_all_bold_and_the_widest_interval_counts():
    cells = [C(91.0, 0.1), C(91.0, 0.4), C(90.7, 0.2)]
    assert bold_mask(cells) == [True, True, True]  # 90.7 is inside 91.0 ± 0.4
    # order does not matter
    assert bold_mask(list(reversed(cells))) == [True, True, True]


def test_single_seed_row_never_bold_and_never_defines_the_best():
    cells = [C(95.0, None, n=1), C(93.0, 0.1), C(92.95, 0.1)]
    assert bold_mask(cells) == [False, True, True]
    # a std computed from one run would be NaN: still not eligible
    assert bold_mask([C(99.0, math.nan, n=1), C(90.0, 0.1)]) == [False, True]


def test_reference_row_never_bold():
    cells = [C(94.62, 0.05, n=3, reference=True), C(92.61, 0.19), C(92.97, 0.05)]
    assert bold_mask(cells) == [False, False, True]


def test_collapsed_row_never_bold_even_if_best():
    cells = [C(10.0, 0.0, collapsed=True), C(9.37, 13.67), C(9.0, 0.5)]
    assert bold_mask(cells) == [False, True, True]  # best is 9.37 ± 13.67, not the collapsed 10.00


def test_whole_collapsed_column_has_no_bold():
    cells = [C(10.0, 0.0, collapsed=True) for _ in range(4)] + [C(93.7, None, n=1, reference=True)]
    assert bold_mask(cells) == [False] * 5


def test_zero_std_best_bolds_only_exact_ties():
    assert bold_mask([C(90.0, 0.0), C(90.0, 0.3), C(89.99, 0.1)]) == [True, True, True]
    assert bold_mask([C(90.0, 0.0), C(89.99, 0.1)]) == [True, False]


def test_sem_and_t95_rules_change_the_interval():
    cells = [C(90.0, 0.6, n=4), C(89.6, 0.1, n=4), C(89.1, 0.1, n=4)]
    assert bold_mask(cells, "std") == [True, True, False]
    assert bold_mask(cells, "sem") == [True, False, False]  # 0.6 / 2 = 0.3
    assert bold_mask(cells, "t95") == [True, True, True]  # 3.1824 * 0.3 = 0.955
    with pytest.raises(UserError, match="known: .*sem.*std.*t95"):
        bold_mask(cells, "ci99")


def test_t_quantiles():
    assert t975(1) == pytest.approx(12.7062, abs=1e-4)
    assert t975(2) == pytest.approx(4.3027, abs=1e-4)
    assert t975(40) == pytest.approx(2.0211, abs=2e-4)
    assert t975(120) == pytest.approx(1.9799, abs=2e-4)
    assert t975(10_000) == pytest.approx(1.96, abs=1e-3)
    assert INTERVALS.get("t95")(1.0, 3) == pytest.approx(4.3027 / math.sqrt(3), abs=1e-4)
