"""Journey analytics on a fixed scenario, checked against numbers worked out by hand.

The scenario is ``tests/fixtures/analytics/trial.scenario.yaml`` (its header says what happens
to whom). The expected numbers below follow from that description alone; the only thing not
readable from the file is each account's variant, which the spec defines as a sha256 draw and
:func:`variant_of` recomputes here independently of the engine. Each test runs the scenario
on a fresh SQLite file and on a fresh PostgreSQL schema.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from itinera.analytics.report import JourneyNotFound, NodeCounts, journey_summary, node_counts
from itinera.definitions.loader import load_scenario
from itinera.simulate.runner import simulate

SCENARIO = Path(__file__).parent.parent / "fixtures" / "analytics" / "trial.scenario.yaml"
ACCOUNTS = [f"acc-{i:03d}" for i in range(200)]
CHURNED_COLD = {"acc-009", "acc-012", "acc-015", "acc-018"}


def band(account: str) -> str:
    i = int(account[4:]) % 20
    return "warm" if i < 4 else "lukewarm" if i < 7 else "cold"


def day(account: str) -> int:
    return int(account[4:]) % 3


def variant_of(account: str) -> str:
    """spec/journeys.md: u = int(sha256("<journey>:<node>:<account>")[:8], 16) / 2**32; weights
    1:1, so the first variant when u < 0.5."""
    u = int(hashlib.sha256(f"trial:offer:{account}".encode()).hexdigest()[:8], 16) / 2**32
    return "standard" if u < 0.5 else "discount"


def test_the_draw_splits_the_accounts_as_the_numbers_below_assume() -> None:
    standard = [a for a in ACCOUNTS if variant_of(a) == "standard"]
    lukewarm_discount = [a for a in ACCOUNTS if band(a) == "lukewarm" and variant_of(a) == "discount"]
    assert len(standard) == 103
    assert len(lukewarm_discount) == 13
    assert len([a for a in lukewarm_discount if day(a) == 2]) == 4
    cold_or_lukewarm_standard = [a for a in ACCOUNTS if band(a) == "cold"
                                 or (band(a) == "lukewarm" and variant_of(a) == "standard")]
    assert len(cold_or_lukewarm_standard) == 147
    assert len([a for a in cold_or_lukewarm_standard if day(a) == 2]) == 49
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
        # 13 lukewarm accounts got the discount; those of day 2 convert after the run.
        "close-slow": NodeCounts(entered=13, waiting=4, ended=0),
        "convert": NodeCounts(entered=39 + 9, waiting=0, ended=48),
        # 130 cold and 17 lukewarm standard accounts; 4 churned here, those of day 2 wait on.
        "nurture": NodeCounts(entered=147, waiting=49, ended=4),
        "done": NodeCounts(entered=147 - 4 - 49, waiting=0, ended=94),
    }
    assert node_counts(store, "trial", version=1) == counts


def test_journey_summary(store: sa.Connection) -> None:
    summary = journey_summary(store, "trial")
    assert (summary.enrolled, summary.active, summary.completed, summary.exited,
            summary.unenrolled) == (202, 4 + 49, 94, 48 + 2, 5)
    assert summary.has_goal
    assert summary.goal_reached == 50
    assert summary.conversion_rate == pytest.approx(50 / 202)


def test_an_unknown_journey_or_version_is_named(store: sa.Connection) -> None:
    with pytest.raises(JourneyNotFound, match="no journey 'nope' was published"):
        node_counts(store, "nope")
    with pytest.raises(JourneyNotFound, match="no version 2 of journey 'trial' was published"):
        node_counts(store, "trial", version=2)
    with pytest.raises(JourneyNotFound):
        journey_summary(store, "nope")
