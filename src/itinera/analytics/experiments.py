"""Experiment statistics: each variant's goal conversion compared with the control's.

The comparison of two conversion proportions (docs/analytics.md gives the formulas):

* **difference** ``d = p_variant − p_control`` and **relative lift** ``d / p_control``;
* a **95% confidence interval for d** by Newcombe's hybrid score method (his method 10, 1998),
  built from the Wilson score interval of each proportion. Unlike the textbook Wald interval
  it keeps its coverage at small counts and near 0% or 100%, never leaves [−1, 1], and is
  defined when an arm has no conversions;
* a **two-sided p-value** for "the two rates are equal": Pearson's chi-square test on the 2×2
  table without continuity correction (the same as the pooled two-proportion z-test) when every
  expected cell count is at least 5, else Fisher's exact test, whose p-value stays exact where
  the chi-square approximation does not hold (Cochran's rule).

The interval and the test are different procedures, so near the 5% boundary one may exclude 0
while the other does not; the report shows both. No correction for several variants is made.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

__all__ = ["CONFIDENCE", "MIN_EXPECTED", "Comparison", "compare", "wilson_interval"]

CONFIDENCE = 0.95
MIN_EXPECTED = 5  # smallest expected cell count for the chi-square test (Cochran's rule)


@dataclass(frozen=True)
class Comparison:
    """A variant against the control. ``relative_lift`` is None when the control never
    converted (no rate to be relative to)."""

    difference: float
    ci_low: float
    ci_high: float
    relative_lift: float | None
    p_value: float
    test: Literal["chi-square", "fisher"]


def wilson_interval(converted: int, enrolled: int,
                    confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The Wilson score interval of the proportion ``converted / enrolled`` (scipy's)."""
    from scipy import stats  # here: importing scipy takes half a second off every CLI start

    interval = stats.binomtest(converted, enrolled).proportion_ci(
        confidence_level=confidence, method="wilson")
    return float(interval.low), float(interval.high)


def _p_value(table: list[list[int]]) -> tuple[float, Literal["chi-square", "fisher"]]:
    import numpy as np
    from scipy import stats

    rows = [sum(r) for r in table]
    columns = [sum(c) for c in zip(*table, strict=True)]
    total = sum(rows)
    if all(r * c / total >= MIN_EXPECTED for r in rows for c in columns):
        result = stats.chi2_contingency(table, correction=False)
        return float(result.pvalue), "chi-square"
    return float(stats.fisher_exact(np.array(table)).pvalue), "fisher"


def compare(control: tuple[int, int], variant: tuple[int, int],
            confidence: float = CONFIDENCE) -> Comparison | None:
    """Compare ``variant`` with ``control``, each given as (converted, enrolled); None when
    either arm has no enrollments. Raises ValueError for counts that cannot be."""
    for name, (converted, enrolled) in (("control", control), ("variant", variant)):
        if not 0 <= converted <= enrolled:
            raise ValueError(f"{name}: {converted} converted of {enrolled} enrolled")
    (c_conv, c_n), (v_conv, v_n) = control, variant
    if c_n == 0 or v_n == 0:
        return None
    p_c, p_v = c_conv / c_n, v_conv / v_n
    low_c, high_c = wilson_interval(c_conv, c_n, confidence)
    low_v, high_v = wilson_interval(v_conv, v_n, confidence)
    difference = p_v - p_c
    ci_low = difference - math.sqrt((p_v - low_v) ** 2 + (high_c - p_c) ** 2)
    ci_high = difference + math.sqrt((high_v - p_v) ** 2 + (p_c - low_c) ** 2)
    p_value, test = _p_value([[v_conv, v_n - v_conv], [c_conv, c_n - c_conv]])
    return Comparison(difference, ci_low, ci_high, difference / p_c if p_c > 0 else None,
                      p_value, test)
