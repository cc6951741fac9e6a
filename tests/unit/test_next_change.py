"""``next_change``: the instant a condition's truth does change by time alone — not merely a
candidate of ``next_flip``, which may change nothing (another clause still holds)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from test_explain import FactsOf

from itinera.conditions import evaluate, next_change, next_flip, parse_condition
from itinera.domain.model import Account, Event

NOW = datetime(2026, 1, 10, 9, tzinfo=UTC)


def _facts(**attributes: object) -> FactsOf:
    return FactsOf(Account(id="acme", attributes=dict(attributes), created_at=NOW))


def test_a_candidate_that_changes_nothing_is_passed_over() -> None:
    signed = NOW - timedelta(days=10)
    condition = parse_condition({"any": [{"account.signed_up": {"within_last": "30d"}},
                                         {"account.renewal": {"within_next": "30d"}}]})
    facts = _facts(signed_up=signed.isoformat(), renewal=(NOW + timedelta(days=40)).isoformat())
    # In 10 days the renewal's window opens (no change: the sign-up is still recent); in 20 the
    # sign-up leaves its window (no change: the renewal is near); in 40 the renewal passes —
    # the first change.
    assert next_flip(condition, facts, NOW) == NOW + timedelta(days=10)
    assert next_change(condition, facts, NOW) == NOW + timedelta(days=40)
    assert evaluate(condition, facts, NOW)
    assert not evaluate(condition, facts, NOW + timedelta(days=40))


def test_never_by_time_alone() -> None:
    tiered = parse_condition({"any": [{"account.tier": "gold"},
                                      {"account.signed_up": {"within_last": "30d"}}]})
    facts = _facts(tier="gold", signed_up=NOW.isoformat())
    assert next_flip(tiered, facts, NOW) is not None  # a candidate, but gold holds throughout
    assert next_change(tiered, facts, NOW) is None
    assert next_change(parse_condition({"account.tier": "gold"}), facts, NOW) is None


def test_the_steps_bound_the_walk() -> None:
    events = [Event(id=f"e{i}", type="login", at=NOW - timedelta(days=i), account="acme")
              for i in range(1, 6)]
    facts = FactsOf(Account(id="acme", attributes={}, created_at=NOW), events_=events)
    # Five logins, one a day: "at least one in the last 7 days" holds until the newest is 7
    # days old; each older one leaving first is a candidate that changes nothing.
    condition = parse_condition({"performed": {"event": "login", "within_last": "7d"}})
    assert next_change(condition, facts, NOW) == NOW + timedelta(days=6)
    assert next_change(condition, facts, NOW, steps=2) is None
