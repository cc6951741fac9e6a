"""Read a condition written as data (YAML/JSON mapping) into a tree, naming every problem.

Problems are appended to a list with their place (``...when.account.size.gt``) rather than
raised one at a time, so validation can report all of them at once.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import datetime
from enum import Enum
from typing import Any

from itinera.conditions.tree import (
    DATE_OPERATORS,
    OPERATORS,
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
from itinera.errors import Problem
from itinera.timeutil import parse_duration, parse_instant

__all__ = ["TRUE", "Scope", "parse_condition", "referenced_segments"]

TRUE: Condition = All(())

ACCOUNT_BUILTINS = frozenset({"id", "csm", "created_at", "playbooks"})
PERSON_BUILTINS = frozenset({"id", "email", "score", "unsubscribed", "account"})
GROUP_FIELDS = frozenset({"engagement_score", "completeness_score", "status"})
COUNT_OPS = frozenset({"eq", "ne", "gt", "gte", "lt", "lte"})
_SCALAR = (str, int, float, bool)


class Scope(Enum):
    """Which names a condition may read."""

    ACCOUNT = "account"  # account.*
    PERSON = "person"  # person.* and account.*
    EVENT = "event"  # properties.*
    GROUP = "group"  # engagement_score, completeness_score, status


def _join(place: str, key: str) -> str:
    return f"{place}.{key}" if place else key


class _Parser:
    def __init__(self, problems: list[Problem], segments: Collection[str] | None) -> None:
        self.problems = problems
        self.segments = segments

    def fail(self, place: str, message: str) -> Condition:
        self.problems.append(Problem(place, message))
        return TRUE

    def mapping(self, raw: Any, place: str, scope: Scope) -> Condition:
        if not isinstance(raw, dict) or not raw:
            return self.fail(place, f"a condition is a non-empty mapping, got {raw!r}")
        items = [self.key(str(k), v, _join(place, str(k)), scope) for k, v in raw.items()]
        return items[0] if len(items) == 1 else All(tuple(items))

    def key(self, key: str, value: Any, place: str, scope: Scope) -> Condition:
        if key in ("all", "any"):
            if not isinstance(value, list) or not value:
                return self.fail(place, f"'{key}' takes a non-empty list of conditions")
            items = tuple(self.mapping(v, f"{place}[{i}]", scope) for i, v in enumerate(value))
            return All(items) if key == "all" else AnyOf(items)
        if key == "not":
            return Not(self.mapping(value, place, scope))
        if key == "in_segment":
            if not isinstance(value, str):
                return self.fail(place, f"in_segment takes a segment id, got {value!r}")
            if self.segments is not None and value not in self.segments:
                return self.fail(place, f"no segment {value!r}")
            return InSegment(value)
        if key == "people" and scope is Scope.ACCOUNT:
            return self.people(value, place)
        if key == "performed" and scope in (Scope.ACCOUNT, Scope.PERSON):
            return self.performed(value, place)
        if key == "buying_group" and scope is Scope.ACCOUNT:
            return self.buying_group(value, place)
        path = self.path(key, place, scope)
        if path is None:
            return TRUE
        return self.operators(path, value, place)

    def path(self, key: str, place: str, scope: Scope) -> tuple[str, ...] | None:
        parts = key.split(".")
        if scope is Scope.GROUP:
            if len(parts) == 1 and key in GROUP_FIELDS:
                return ("group", key)
            self.fail(place, f"unknown buying-group field {key!r} (use {', '.join(sorted(GROUP_FIELDS))})")
            return None
        head, rest = parts[0], parts[1:]
        allowed = {Scope.ACCOUNT: ("account",), Scope.PERSON: ("account", "person"),
                   Scope.EVENT: ("properties",)}[scope]
        if head not in allowed or not rest or not all(rest):
            names = " or ".join(f"'{a}.<name>'" for a in allowed)
            self.fail(place, f"unknown condition key {key!r}: expected {names}, or all/any/not"
                      + (", in_segment, people, performed, buying_group" if scope is Scope.ACCOUNT else ""))
            return None
        if head == "properties":
            return ("properties", *rest)
        builtins = ACCOUNT_BUILTINS if head == "account" else PERSON_BUILTINS
        if rest[0] == "attributes" and len(rest) > 1:
            return (head, "attr", *rest[1:])
        if rest[0] in builtins and len(rest) == 1:
            return (head, "builtin", rest[0])
        return (head, "attr", *rest)

    def operators(self, path: tuple[str, ...], value: Any, place: str) -> Condition:
        if not isinstance(value, dict):
            return self.operator(path, "eq", value, place)
        if not value:
            return self.fail(place, "an empty mapping of operators")
        items = [self.operator(path, str(op), v, _join(place, str(op))) for op, v in value.items()]
        return items[0] if len(items) == 1 else All(tuple(items))

    def operator(self, path: tuple[str, ...], op: str, value: Any, place: str) -> Condition:
        if op not in OPERATORS:
            return self.fail(place, f"unknown operator {op!r} (known: {', '.join(sorted(OPERATORS))})")
        if op in ("in", "nin"):
            if not isinstance(value, list) or not all(isinstance(v, _SCALAR) for v in value):
                return self.fail(place, f"operator {op} takes a list of values, got {value!r}")
            return Compare(path, op, tuple(value))
        if op == "exists":
            if not isinstance(value, bool):
                return self.fail(place, f"operator exists takes true or false, got {value!r}")
            return Compare(path, op, value)
        if op in ("within_next", "within_last", "older_than"):
            try:
                duration = parse_duration(value)
            except ValueError as error:
                return self.fail(place, f"operator {op}: {error}")
            if duration.total_seconds() <= 0:
                return self.fail(place, f"operator {op} takes a positive duration, got {value!r}")
            return Compare(path, op, duration)
        if op in ("before", "after"):
            try:
                instant: datetime = parse_instant(value)
            except ValueError as error:
                return self.fail(place, f"operator {op}: {error}")
            return Compare(path, op, instant)
        if op in ("gt", "gte", "lt", "lte"):
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                return self.fail(place, f"operator {op} takes a number or a string, got {value!r}")
            return Compare(path, op, value)
        if op in ("contains_ci", "eq_ci", "starts_with", "ends_with"):
            if not isinstance(value, str):
                return self.fail(place, f"operator {op} takes a string, got {value!r}")
            return Compare(path, op, value)
        # eq, ne, contains: any scalar
        if not isinstance(value, _SCALAR):
            hint = " (use 'in' for a list)" if isinstance(value, list) else ""
            return self.fail(place, f"operator {op} takes a single value, got {value!r}{hint}")
        return Compare(path, op, value)

    def count(self, raw: Any, place: str) -> Count:
        if raw is None:
            return Count("gte", 1)
        if isinstance(raw, int) and not isinstance(raw, bool):
            return Count("eq", raw)
        if isinstance(raw, dict) and len(raw) == 1:
            ((op, value),) = raw.items()
            if op in COUNT_OPS and isinstance(value, int) and not isinstance(value, bool):
                return Count(str(op), value)
        self.fail(place, f"count takes an integer or one of {{eq, ne, gt, gte, lt, lte}}: n, got {raw!r}")
        return Count("gte", 1)

    def unknown_keys(self, raw: dict[str, Any], allowed: set[str], place: str) -> None:
        for key in raw:
            if key not in allowed:
                known = ", ".join(sorted(allowed))
                self.fail(_join(place, str(key)), f"unknown key {key!r} (known: {known})")

    def people(self, raw: Any, place: str) -> Condition:
        if not isinstance(raw, dict):
            return self.fail(place, "people takes {match: <condition on person.*>, count: ...}")
        self.unknown_keys(raw, {"match", "count"}, place)
        match = self.mapping(raw["match"], _join(place, "match"), Scope.PERSON) if "match" in raw else TRUE
        return PeopleCount(match, self.count(raw.get("count"), _join(place, "count")))

    def performed(self, raw: Any, place: str) -> Condition:
        if not isinstance(raw, dict) or not isinstance(raw.get("event"), str):
            return self.fail(place, "performed takes {event: <type>, where, within_last, count}")
        self.unknown_keys(raw, {"event", "where", "within_last", "count"}, place)
        where = None
        if raw.get("where") is not None:
            where = self.mapping(raw["where"], _join(place, "where"), Scope.EVENT)
        window = None
        if raw.get("within_last") is not None:
            try:
                window = parse_duration(raw["within_last"])
            except ValueError as error:
                self.fail(_join(place, "within_last"), str(error))
        count = self.count(raw.get("count"), _join(place, "count"))
        return Performed(raw["event"], where, window, count)

    def buying_group(self, raw: Any, place: str) -> Condition:
        if not isinstance(raw, dict) or not isinstance(raw.get("solution"), str):
            return self.fail(place, "buying_group takes {solution: <solution interest>, match: ...}")
        self.unknown_keys(raw, {"solution", "match"}, place)
        match = TRUE
        if raw.get("match") is not None:
            match = self.mapping(raw["match"], _join(place, "match"), Scope.GROUP)
        return BuyingGroupMatch(raw["solution"], match)


def parse_condition(
    raw: Any,
    place: str = "",
    scope: Scope = Scope.ACCOUNT,
    problems: list[Problem] | None = None,
    segments: Collection[str] | None = None,
) -> Condition:
    """Parse ``raw``; problems go to ``problems`` (or raise ValueError when it is None)."""
    sink: list[Problem] = [] if problems is None else problems
    tree = _Parser(sink, segments).mapping(raw, place, scope)
    if problems is None and sink:
        raise ValueError("\n".join(str(p) for p in sink))
    return tree


def _walk(tree: Condition) -> Iterator[Condition]:
    yield tree
    if isinstance(tree, All | AnyOf):
        for item in tree.items:
            yield from _walk(item)
    elif isinstance(tree, Not):
        yield from _walk(tree.item)
    elif isinstance(tree, PeopleCount | BuyingGroupMatch):
        yield from _walk(tree.match)
    elif isinstance(tree, Performed) and tree.where is not None:
        yield from _walk(tree.where)


def referenced_segments(tree: Condition) -> set[str]:
    """The segments whose membership the condition reads."""
    return {node.segment for node in _walk(tree) if isinstance(node, InSegment)}


def is_clock_dependent(tree: Condition) -> bool:
    """True when the condition's truth can change by the passing of time alone."""
    for node in _walk(tree):
        if isinstance(node, Compare) and node.op in DATE_OPERATORS - {"before", "after"}:
            return True
        if isinstance(node, Performed) and node.within_last is not None:
            return True
    return False
