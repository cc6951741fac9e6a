"""The comparison of a variant with the control, against closed-form values worked out here."""

from __future__ import annotations

import math

import pytest

from itinera.analytics.experiments import compare, wilson_interval

Z = 1.959963984540054  # the 97.5% quantile of the standard normal


def wilson(k: int, n: int) -> tuple[float, float]:
    """Wilson's score interval, from its formula."""
    p = k / n
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z / (1 + Z * Z / n) * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
    return centre - half, centre + half


def test_wilson_interval_is_the_score_interval() -> None:
    assert wilson_interval(3, 10) == pytest.approx(wilson(3, 10), abs=1e-12)
    assert wilson_interval(0, 7) == pytest.approx(wilson(0, 7), abs=1e-12)


def test_large_counts_use_the_pooled_z_test_and_newcombes_interval() -> None:
    result = compare(control=(10, 100), variant=(20, 100))
    assert result is not None
    assert result.test == "chi-square"
    assert result.difference == pytest.approx(0.10)
    assert result.relative_lift == pytest.approx(1.0)
    pooled = 30 / 200
    z = 0.10 / math.sqrt(pooled * (1 - pooled) * (1 / 100 + 1 / 100))
    assert result.p_value == pytest.approx(math.erfc(z / math.sqrt(2)), rel=1e-9)
    (l_c, u_c), (l_v, u_v) = wilson(10, 100), wilson(20, 100)
    assert result.ci_low == pytest.approx(0.10 - math.hypot(0.20 - l_v, u_c - 0.10), abs=1e-12)
    assert result.ci_high == pytest.approx(0.10 + math.hypot(u_v - 0.20, 0.10 - l_c), abs=1e-12)


def test_small_counts_use_fishers_exact_test() -> None:
    result = compare(control=(0, 5), variant=(3, 5))
    assert result is not None
    assert result.test == "fisher"
    # Margins 5/5 and 3/7: P(x variant conversions) = C(5,x)·C(5,3−x)/C(10,3) = 10, 50, 50, 10
    # (/120) for x = 0..3; the two tables as unlikely as the observed one (x = 3 and x = 0).
    assert result.p_value == pytest.approx(20 / 120)
    assert result.relative_lift is None  # the control never converted
    assert result.difference == pytest.approx(0.6)
    assert -1 <= result.ci_low < 0.6 < result.ci_high <= 1


def test_no_conversions_anywhere_is_no_difference() -> None:
    result = compare(control=(0, 40), variant=(0, 60))
    assert result is not None
    assert (result.difference, result.p_value, result.test) == (0.0, 1.0, "fisher")
    assert result.ci_low < 0 < result.ci_high


def test_an_empty_arm_is_no_comparison_and_impossible_counts_are_refused() -> None:
    assert compare(control=(0, 0), variant=(3, 10)) is None
    assert compare(control=(3, 10), variant=(0, 0)) is None
    with pytest.raises(ValueError, match="variant: 11 converted of 10 enrolled"):
        compare(control=(3, 10), variant=(11, 10))
