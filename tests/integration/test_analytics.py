"""Journey analytics on a fixed scenario, checked against numbers worked out by hand.

The scenario is ``tests/fixtures/analytics/trial.scenario.yaml`` (its header says what happens
to whom). The expected numbers below follow from that description alone; the only thing not
readable from the file is each account's variant, which the spec defines as a sha256 draw and
:func:`variant_of` recomputes here independently of the engine. Each test runs the scenario
on a fresh SQLite file and on a fresh PostgreSQL schema.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from scipy import stats

from itinera.analytics.queries import DayRow
from itinera.analytics.report import (
    JourneyNotFound,
    NodeCounts,
    journey_report,
    journey_summary,
    node_counts,
)
from itinera.definitions.loader import load_scenario
from itinera.simulate.runner import simulate

from .helpers import run

SCENARIO = Path(__file__).parent.parent / "fixtures" / "analytics" / "trial.scenario.yaml"
ACCOUNTS = [f"acc-{i:03d}" for i in range(200)]
CHURNED_COLD = {"acc-009", "acc-012", "acc-015", "acc-018"}


def band(account: str) -> str:
    i = int(account[4:]) % 20
    return "warm" if i < 4 else "lukewarm" if i < 9 else "cold"


def day(account: str) -> int:
    return int(account[4:]) % 3


def variant_of(account: str) -> str:
    """spec/journeys.md: u = int(sha256("<journey>:<node>:<account>")[:8], 16) / 2**32; weights
    1:1, so the first variant when u < 0.5."""
    u = int(hashlib.sha256(f"trial:offer:{account}".encode()).hexdigest()[:8], 16) / 2**32
    return "standard" if u < 0.5 else "discount"


def test_the_draw_splits_the_accounts_as_the_numbers_below_assume() -> None:
    groups = Counter((band(a), variant_of(a), day(a)) for a in ACCOUNTS)
    assert {(b, v): sum(n for (b2, v2, _), n in groups.items() if (b2, v2) == (b, v))
            for b, v, _ in groups} == {
        ("warm", "standard"): 20, ("warm", "discount"): 20,
        ("lukewarm", "standard"): 26, ("lukewarm", "discount"): 24,
        ("cold", "standard"): 57, ("cold", "discount"): 53}
    assert [groups["lukewarm", "discount", d] for d in (0, 1, 2)] == [10, 6, 8]
    assert [groups["warm", v, d] for v in ("standard", "discount") for d in (0, 1, 2)] == [6, 8, 6, 8, 5, 7]
    assert [sum(groups["cold", v, d] for v in ("standard", "discount")) + groups["lukewarm", "standard", d]
            for d in (0, 1, 2)] == [43, 48, 45]
    assert variant_of("acc-000") == "discount"
    assert all(band(a) == "cold" and day(a) == 0 for a in CHURNED_COLD)


@pytest.fixture
def store(database_url: str) -> Iterator[sa.Connection]:
    """A connection to a store holding the fixed scenario's run."""
    simulation = simulate(load_scenario(SCENARIO), database_url=database_url)
    simulation.store.close()
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def test_node_counts(store: sa.Connection) -> None:
    counts = node_counts(store, "trial")
    # Breadth-first from the start, each node's targets in the order it names them.
    assert list(counts) == ["welcome", "offer", "standard", "discount", "standard-fit",
                            "discount-fit", "close-fast", "nurture", "close-slow", "convert",
                            "done"]
    assert counts == {
        "welcome": NodeCounts(entered=200, waiting=0, ended=0),
        "offer": NodeCounts(entered=200, waiting=0, ended=0),
        "standard": NodeCounts(entered=103, waiting=0, ended=0),
        "discount": NodeCounts(entered=97, waiting=0, ended=0),
        "standard-fit": NodeCounts(entered=103, waiting=0, ended=0),
        "discount-fit": NodeCounts(entered=97, waiting=0, ended=0),
        # 40 warm accounts; acc-000 churned while waiting here, the 39 others converted.
        "close-fast": NodeCounts(entered=40, waiting=0, ended=1),
        # 24 lukewarm accounts got the discount; the 8 of day 2 convert after the run.
        "close-slow": NodeCounts(entered=24, waiting=8, ended=0),
        "convert": NodeCounts(entered=39 + 16, waiting=0, ended=55),
        # 110 cold and 26 lukewarm standard accounts; 4 churned here, the 45 of day 2 wait on.
        "nurture": NodeCounts(entered=136, waiting=45, ended=4),
        "done": NodeCounts(entered=136 - 4 - 45, waiting=0, ended=87),
    }
    assert node_counts(store, "trial", version=1) == counts


def test_journey_summary(store: sa.Connection) -> None:
    summary = journey_summary(store, "trial")
    assert (summary.enrolled, summary.active, summary.completed, summary.exited,
            summary.unenrolled) == (202, 8 + 45, 87, 55 + 2, 5)
    assert summary.has_goal
    assert summary.goal_reached == 57
    assert summary.conversion_rate == pytest.approx(57 / 202)


def test_an_unknown_journey_or_version_is_named(store: sa.Connection) -> None:
    with pytest.raises(JourneyNotFound, match="no journey 'nope' was published"):
        node_counts(store, "nope")
    with pytest.raises(JourneyNotFound, match="no version 2 of journey 'trial' was published"):
        node_counts(store, "trial", version=2)
    with pytest.raises(JourneyNotFound):
        journey_summary(store, "nope")


def test_funnel_goal_and_days(store: sa.Connection) -> None:
    report = journey_report(store, "trial")
    assert (report.name, report.version, report.ended_on_entry) == ("Trial conversion", None, 2)
    dropped = {n.node: (n.kind, n.dropped, n.drop_off_rate) for n in report.nodes if n.dropped}
    assert dropped == {"close-fast": ("wait", 1, 1 / 40), "nurture": ("wait", 4, 4 / 136)}
    assert [n.kind for n in report.nodes][:2] == ["do", "experiment"]
    # 57 times to goal: 2 × 0 s (customers already), 39 × 2 days (warm), 16 × 4 days (lukewarm
    # with the discount); the 29th is 2 days.
    assert report.median_seconds_to_goal == 2 * 86400
    assert report.days == [
        DayRow("2026-01-05", enrolled=67, goal_reached=0, completed=0, exited=0, unenrolled=0),
        # 67 trials of day 1 and the 2 customers (goal at once); the 5 churned accounts.
        DayRow("2026-01-06", enrolled=69, goal_reached=2, completed=0, exited=2, unenrolled=5),
        # Warm accounts convert 2 days after their trial started: 14 of day 0 less acc-000.
        DayRow("2026-01-07", enrolled=66, goal_reached=13, completed=0, exited=13, unenrolled=0),
        DayRow("2026-01-08", enrolled=0, goal_reached=13, completed=0, exited=13, unenrolled=0),
        # 13 warm of day 2 and 10 lukewarm-discount of day 0; the 43 nurtured of day 0 less
        # the 4 churned complete.
        DayRow("2026-01-09", enrolled=0, goal_reached=23, completed=39, exited=23, unenrolled=0),
        DayRow("2026-01-10", enrolled=0, goal_reached=6, completed=48, exited=6, unenrolled=0),
    ]


def wilson(k: int, n: int, z: float) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def test_experiment_matches_scipy_computed_independently(store: sa.Connection) -> None:
    (experiment,) = journey_report(store, "trial").experiments
    assert (experiment.name, experiment.node, experiment.control) == ("offer", "offer", "standard")
    standard, discount = experiment.variants
    # Standard: 103 accounts, the 20 warm ones convert. Discount: 97, of which 20 warm (acc-000
    # churned first) and the 16 lukewarm of days 0 and 1 convert.
    assert (standard.name, standard.enrolled, standard.converted, standard.control) == (
        "standard", 103, 20, True)
    assert (discount.name, discount.enrolled, discount.converted, discount.control) == (
        "discount", 97, 35, False)
    assert standard.rate == pytest.approx(20 / 103)
    assert discount.rate == pytest.approx(35 / 97)
    assert standard.comparison is None
    result = discount.comparison
    assert result is not None
    assert result.test == "chi-square"
    assert result.difference == pytest.approx(35 / 97 - 20 / 103)
    assert result.relative_lift == pytest.approx((35 / 97) / (20 / 103) - 1)
    expected = stats.chi2_contingency([[35, 97 - 35], [20, 103 - 20]], correction=False)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-9)
    assert result.p_value == pytest.approx(0.00834, abs=1e-5)
    z = float(stats.norm.ppf(0.975))
    (l_v, u_v), (l_c, u_c) = wilson(35, 97, z), wilson(20, 103, z)
    p_v, p_c = 35 / 97, 20 / 103
    assert result.ci_low == pytest.approx(p_v - p_c - math.hypot(p_v - l_v, u_c - p_c), abs=1e-12)
    assert result.ci_high == pytest.approx(p_v - p_c + math.hypot(u_v - p_v, p_c - l_c), abs=1e-12)
    assert 0 < result.ci_low < result.difference < result.ci_high


def test_a_window_of_enrollment_days(store: sa.Connection) -> None:
    report = journey_report(store, "trial", enrolled_from=date(2026, 1, 6), enrolled_to=date(2026, 1, 6))
    # The 67 trials of day 1 and the 2 customers: 13 warm and 6 lukewarm-discount convert.
    assert (report.summary.enrolled, report.summary.goal_reached, report.ended_on_entry) == (69, 21, 2)
    assert report.enrolled_from == report.enrolled_to == date(2026, 1, 6)
    nodes = {n.node: n for n in report.nodes}
    assert (nodes["welcome"].entered, nodes["nurture"].waiting, nodes["done"].ended) == (67, 0, 48)
    assert sum(v.enrolled for v in report.experiments[0].variants) == 67
    with pytest.raises(ValueError, match=r"starts \(2026-01-07\) after it ends \(2026-01-06\)"):
        journey_report(store, "trial", enrolled_from=date(2026, 1, 7), enrolled_to=date(2026, 1, 6))
    assert journey_report(store, "trial", enrolled_from=date(2026, 1, 8)).summary.enrolled == 0


def test_without_a_goal_there_is_no_conversion(tmp_path: Path, database_url: str) -> None:
    run(tmp_path, database_url, """
        start: 2026-01-05T09:00:00Z
        until: 1d
        data:
          accounts: [{id: a1}, {id: a2}, {id: a3}]
          segments: [{id: all, when: {account.id: {exists: true}}}]
        journeys:
          - id: plain
            entry: {segments: [all], existing: true}
            start: pick
            nodes:
              pick:
                experiment:
                  name: ab
                  variants: [{name: a, weight: 1, next: stop}, {name: b, weight: 1, next: stop}]
              stop: {end: true}
        timeline: [{at: 0s, enable: plain}]
    """)
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        report = journey_report(connection, "plain")
    engine.dispose()
    assert (report.summary.enrolled, report.summary.completed, report.summary.has_goal) == (3, 3, False)
    assert report.summary.conversion_rate is None and report.median_seconds_to_goal is None
    (experiment,) = report.experiments
    assert sum(v.enrolled for v in experiment.variants) == 3
    assert all(v.rate is None and v.comparison is None for v in experiment.variants)


VERSIONS = """
start: 2026-01-05T09:00:00Z
until: 5d
data:
  accounts: [{id: a, attributes: {tier: gold}}]
  segments: [{id: all, when: {account.tier: {exists: true}}}]
journeys:
  - id: j
    entry: {segments: [all], existing: true}
    start: w
    nodes:
      w: {wait: 2d, next: v1-step}
      v1-step: {do: [{set: {account.seen: v1}}]}
timeline:
  - {at: 0s, enable: j}
  - at: 1d
    publish:
      id: j
      entry: {segments: [all], existing: true}
      start: w
      nodes:
        w: {wait: 10d, next: v2-step}
        v2-step: {do: [{set: {account.seen: v2}}]}
  - {at: 1d, upsert_account: {id: b, attributes: {tier: gold}}}
"""


def test_versions(tmp_path: Path, database_url: str) -> None:
    # a runs version 1 to its end at 2d; b enrolls on version 2 at 1d and waits at w.
    run(tmp_path, database_url, VERSIONS)
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        every = node_counts(connection, "j")
        first = node_counts(connection, "j", version=1)
        second = journey_report(connection, "j", version=2)
    engine.dispose()
    # The latest version's nodes first, then those only older versions have.
    assert every == {"w": NodeCounts(2, 1, 0), "v2-step": NodeCounts(0, 0, 0),
                     "v1-step": NodeCounts(1, 0, 1)}
    assert first == {"w": NodeCounts(1, 0, 0), "v1-step": NodeCounts(1, 0, 1)}
    assert [(n.node, n.entered, n.waiting) for n in second.nodes] == [("w", 1, 1), ("v2-step", 0, 0)]
    assert (second.version, second.summary.enrolled, second.summary.active) == (2, 1, 1)
    assert second.summary.conversion_rate is None and second.experiments == []
