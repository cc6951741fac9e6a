"""The values a condition read: what an enrollment's history keeps beside each decision.

``explain(tree, facts, now)`` walks a condition the way ``evaluate`` does and returns, by a
readable name, each value it looked at — ``account.tier: "gold"``, ``person.title: "CEO"``,
``in_segment.trial: true``, ``performed.email.clicked within 7d: 2``, ``people_count: 3``,
``buying_group.product-x: {engagement_score: 82, ...}``. Missing values are ``None``; instants
are ISO text, so the result is plain JSON. It evaluates nothing itself: the decision is the
evaluator's; this only says what the decision saw.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from itinera.conditions.evaluate import MISSING, Facts, evaluate, performed_events, read_path
from itinera.conditions.tree import (
    All,
    AnyOf,
    BuyingGroupMatch,
    Compare,
    Condition,
    InSegment,
    Not,
    PeopleCount,
    Performed,
)
from itinera.domain.model import Person
from itinera.timeutil import format_instant

__all__ = ["explain", "path_name"]


def path_name(path: tuple[str, ...]) -> str:
    """``("account", "attr", "tier")`` → ``account.tier``; ``("properties", "plan")`` →
    ``properties.plan``."""
    if path[0] in ("account", "person"):
        return ".".join((path[0], *path[2:]))
    return ".".join(path)


def _plain(value: Any) -> Any:
    if value is MISSING or value is None:
        return None
    if isinstance(value, datetime):
        return format_instant(value)
    return value


def _window(within: timedelta | None) -> str:
    if within is None:
        return ""
    seconds = int(within.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f" within {seconds // size}{unit}"
    return f" within {seconds}s"


def explain(tree: Condition, facts: Facts, now: datetime,
            person: Person | None = None) -> dict[str, Any]:
    """The values ``tree`` reads for the facts' account (and ``person``), by name."""
    seen: dict[str, Any] = {}
    _walk(tree, facts, now, person, seen)
    return seen


def _walk(tree: Condition, facts: Facts, now: datetime, person: Person | None,
          seen: dict[str, Any]) -> None:
    if isinstance(tree, All | AnyOf):
        for item in tree.items:
            _walk(item, facts, now, person, seen)
    elif isinstance(tree, Not):
        _walk(tree.item, facts, now, person, seen)
    elif isinstance(tree, Compare):
        if tree.path[0] in ("account", "person"):  # event and group values belong to counts
            seen[path_name(tree.path)] = _plain(read_path(tree.path, facts.account, person))
    elif isinstance(tree, InSegment):
        seen[f"in_segment.{tree.segment}"] = tree.segment in facts.segments()
    elif isinstance(tree, PeopleCount):
        n = sum(1 for p in facts.people() if evaluate(tree.match, facts, now, p))
        seen[_unique(seen, "people_count")] = n
    elif isinstance(tree, Performed):
        seen[f"performed.{tree.event}{_window(tree.within_last)}"] = len(
            performed_events(tree, facts, now))
    elif isinstance(tree, BuyingGroupMatch):
        group = next((g for g in facts.buying_groups() if g.solution == tree.solution), None)
        seen[f"buying_group.{tree.solution}"] = None if group is None else {
            "engagement_score": group.engagement_score,
            "completeness_score": group.completeness_score, "status": group.status}


def _unique(seen: dict[str, Any], name: str) -> str:
    if name not in seen:
        return name
    n = 2
    while f"{name}#{n}" in seen:
        n += 1
    return f"{name}#{n}"
