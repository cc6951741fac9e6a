"""Evaluate a condition for one account in Python, and find the next instant it can flip.

This is the reference semantics; ``conditions.sql`` must agree with it on every input. The
rules that both follow:

- a missing attribute (absent or null) compares false with every operator except
  ``exists: false``, ``ne`` (true) — ``nin`` is false on a missing value too;
- values compare only within one JSON type: numbers with numbers (booleans are not numbers),
  strings with strings (code-point order), booleans with booleans;
- ``eq_ci``/``contains_ci`` fold ASCII letters only;
- date operators read the value as an instant (``timeutil.parse_data_instant``); a value that
  is not one makes them false.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol

from itinera.conditions.tree import (
    All,
    AnyOf,
    BuyingGroupMatch,
    Compare,
    Condition,
    Count,
    InSegment,
    Not,
    PeopleCount,
    Performed,
)
from itinera.domain.model import Account, BuyingGroup, Event, Person
from itinera.timeutil import parse_data_instant

__all__ = ["MISSING", "Facts", "compare", "evaluate", "next_change", "next_flip", "performed_events",
           "read_path"]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class Facts(Protocol):
    """What a condition may read about one account."""

    @property
    def account(self) -> Account: ...

    def people(self) -> Sequence[Person]: ...

    def buying_groups(self) -> Sequence[BuyingGroup]: ...

    def segments(self) -> Collection[str]: ...

    def events(self, type: str) -> Sequence[Event]: ...


def _ascii_lower(text: str) -> str:
    return text.translate(_LOWER)


_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _same(a: Any, b: Any) -> bool:
    if isinstance(b, bool) or isinstance(a, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a is b
    if _is_number(b):
        return _is_number(a) and bool(a == b)
    if isinstance(b, str):
        return isinstance(a, str) and a == b
    return False


def compare(op: str, actual: Any, value: Any, now: datetime) -> bool:
    """``actual <op> value``; ``actual`` is MISSING when the attribute is absent or null."""
    if actual is None:
        actual = MISSING
    if op == "exists":
        return (actual is not MISSING) is value
    if op == "ne":
        return actual is MISSING or not _same(actual, value)
    if actual is MISSING:
        return False
    if op == "eq":
        return _same(actual, value)
    if op == "in":
        return any(_same(actual, v) for v in value)
    if op == "nin":
        return not any(_same(actual, v) for v in value)
    if op in ("gt", "gte", "lt", "lte"):
        if _is_number(value):
            if not _is_number(actual):
                return False
        elif not (isinstance(value, str) and isinstance(actual, str)):
            return False
        if op == "gt":
            return bool(actual > value)
        if op == "gte":
            return bool(actual >= value)
        if op == "lt":
            return bool(actual < value)
        return bool(actual <= value)
    if op == "contains":
        if isinstance(actual, str):
            return isinstance(value, str) and value in actual
        if isinstance(actual, list):
            return any(_same(item, value) for item in actual)
        return False
    if op == "contains_ci":
        if isinstance(actual, str):
            return _ascii_lower(value) in _ascii_lower(actual)
        if isinstance(actual, list):
            return any(isinstance(i, str) and _ascii_lower(i) == _ascii_lower(value) for i in actual)
        return False
    if op == "eq_ci":
        return isinstance(actual, str) and _ascii_lower(actual) == _ascii_lower(value)
    if op == "starts_with":
        return isinstance(actual, str) and actual.startswith(value)
    if op == "ends_with":
        return isinstance(actual, str) and actual.endswith(value)
    instant = parse_data_instant(actual)
    if instant is None:
        return False
    if op == "within_next":
        return bool(now < instant <= now + value)
    if op == "within_last":
        return bool(now - value < instant <= now)
    if op == "older_than":
        return bool(instant <= now - value)
    if op == "before":
        return bool(instant < value)
    if op == "after":
        return bool(instant > value)
    raise ValueError(f"unknown operator {op!r}")


def _dig(value: Any, names: Iterable[str]) -> Any:
    for name in names:
        if not isinstance(value, dict) or name not in value:
            return MISSING
        value = value[name]
    return MISSING if value is None else value


def read_path(
    path: tuple[str, ...],
    account: Account | None,
    person: Person | None = None,
    event: Event | None = None,
    group: BuyingGroup | None = None,
) -> Any:
    """The value a resolved path names, or MISSING."""
    scope = path[0]
    if scope == "properties":
        return MISSING if event is None else _dig(event.properties, path[1:])
    if scope == "group":
        return MISSING if group is None else _dig(
            {"engagement_score": group.engagement_score,
             "completeness_score": group.completeness_score, "status": group.status},
            path[1:],
        )
    record: Account | Person | None = account if scope == "account" else person
    if record is None:
        return MISSING
    if path[1] == "builtin":
        value = getattr(record, path[2])
        if isinstance(value, datetime):
            return value
        return MISSING if value is None else value
    return _dig(record.attributes, path[2:])


def _count_ok(count: Count, n: int) -> bool:
    return compare(count.op, n, count.value, datetime.min)


class _Evaluator:
    def __init__(self, facts: Facts, now: datetime) -> None:
        self.facts = facts
        self.now = now

    def run(self, tree: Condition, person: Person | None = None,
            event: Event | None = None, group: BuyingGroup | None = None) -> bool:
        if isinstance(tree, All):
            return all(self.run(i, person, event, group) for i in tree.items)
        if isinstance(tree, AnyOf):
            return any(self.run(i, person, event, group) for i in tree.items)
        if isinstance(tree, Not):
            return not self.run(tree.item, person, event, group)
        if isinstance(tree, Compare):
            actual = read_path(tree.path, self.facts.account, person, event, group)
            return compare(tree.op, actual, tree.value, self.now)
        if isinstance(tree, InSegment):
            return tree.segment in self.facts.segments()
        if isinstance(tree, PeopleCount):
            n = sum(1 for p in self.facts.people() if self.run(tree.match, p))
            return _count_ok(tree.count, n)
        if isinstance(tree, Performed):
            return _count_ok(tree.count, len(self.performed_events(tree)))
        if isinstance(tree, BuyingGroupMatch):
            return any(
                g.solution == tree.solution and self.run(tree.match, group=g)
                for g in self.facts.buying_groups()
            )
        raise TypeError(f"not a condition: {tree!r}")

    def matching_events(self, tree: Performed) -> list[Event]:
        events = self.facts.events(tree.event)
        if tree.where is None:
            return list(events)
        where = tree.where
        return [e for e in events if self.run(where, event=e)]

    def performed_events(self, tree: Performed) -> list[Event]:
        events = self.matching_events(tree)
        if tree.within_last is None:
            return events
        start = self.now - tree.within_last
        return [e for e in events if start < e.at <= self.now]


def evaluate(tree: Condition, facts: Facts, now: datetime, person: Person | None = None,
             event: Event | None = None) -> bool:
    """The truth of ``tree`` for the facts' account (and ``person``, in people contexts; and
    ``event``, for ``properties.*`` in ``where`` clauses)."""
    return _Evaluator(facts, now).run(tree, person, event)


def performed_events(tree: Performed, facts: Facts, now: datetime) -> list[Event]:
    """The events a ``performed`` condition counts at ``now``."""
    return _Evaluator(facts, now).performed_events(tree)


def _flip_candidates(op: str, instant: datetime, value: Any) -> tuple[datetime, ...]:
    if op == "within_next":
        return (instant - value, instant)
    if op == "within_last":
        return (instant, instant + value)
    if op == "older_than":
        return (instant + value,)
    return ()


def next_flip(tree: Condition, facts: Facts, now: datetime) -> datetime | None:
    """The earliest instant after ``now`` at which ``tree`` may change truth by time alone.

    A superset of the real flips: re-evaluating at an instant where nothing changed is harmless,
    missing one would not be.
    """
    evaluator = _Evaluator(facts, now)
    best: list[datetime] = []

    def offer(at: datetime) -> None:
        if at > now and (not best or at < best[0]):
            best[:] = [at]

    def walk(node: Condition, people: Sequence[Person | None]) -> None:
        if isinstance(node, All | AnyOf):
            for item in node.items:
                walk(item, people)
        elif isinstance(node, Not):
            walk(node.item, people)
        elif isinstance(node, Compare):
            if node.op in ("within_next", "within_last", "older_than"):
                for person in people:
                    instant = parse_data_instant(read_path(node.path, facts.account, person))
                    if instant is not None:
                        for at in _flip_candidates(node.op, instant, node.value):
                            offer(at)
        elif isinstance(node, PeopleCount):
            walk(node.match, facts.people())
        elif isinstance(node, Performed) and node.within_last is not None:
            for event in evaluator.matching_events(node):
                offer(event.at)
                offer(event.at + node.within_last)

    walk(tree, [None])
    return best[0] if best else None


def next_change(tree: Condition, facts: Facts, now: datetime, steps: int = 64) -> datetime | None:
    """The earliest instant after ``now`` at which ``tree``'s truth does change by time alone:
    ``next_flip``'s candidates tried in turn (at most ``steps``; None past them, or when there
    are none). What "Why (not)?" tells; the engine needs only the candidates."""
    holds, at = evaluate(tree, facts, now), now
    for _ in range(steps):
        candidate = next_flip(tree, facts, at)
        if candidate is None:
            return None
        if evaluate(tree, facts, candidate) != holds:
            return candidate
        at = candidate
    return None
