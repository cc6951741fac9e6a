"""Conditions in words, as a person would say them: each node of a parsed condition in plain
English ("account state is CA and the Bodea-Product X buying group's status is Engaged").

The web UI says journeys' rules with it, and "Why (not)?" (``runtime.why``) says which clause of
an entry condition decided.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

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
from itinera.timeutil import format_instant, parse_instant

__all__ = ["duration_words", "instant_words", "say", "value_words"]

_OPERATORS = {
    "eq": "is", "ne": "is not", "gt": "is over", "gte": "is at least", "lt": "is under",
    "lte": "is at most", "in": "is one of", "nin": "is none of", "contains": "contains",
    "contains_ci": "contains (any case)", "eq_ci": "is (any case)", "starts_with": "starts with",
    "ends_with": "ends with", "within_next": "is within the next", "within_last": "is within the last",
    "older_than": "is more than", "before": "is before", "after": "is after",
}
_COUNTS = {"eq": "exactly", "ne": "other than", "gt": "more than", "gte": "at least",
           "lt": "fewer than", "lte": "at most"}
_BUILTINS = {"csm": "CSM", "id": "id", "created_at": "creation date", "playbooks": "playbooks",
             "email": "email", "score": "score", "unsubscribed": "unsubscribed flag",
             "account": "account"}


def duration_words(value: timedelta | str) -> str:
    """``14 days``, ``12 hours``, ``2 weeks``: a duration as said aloud."""
    if isinstance(value, str):
        return value
    seconds = int(value.total_seconds())
    for size, unit in ((604800, "week"), (86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


def instant_words(value: Any) -> str:
    """``Jan 5 2026, 09:00`` (UTC) from an instant or its ISO text; empty for none."""
    if not value:
        return ""
    try:
        instant = parse_instant(value) if not isinstance(value, datetime) else value
    except ValueError:
        return str(value)
    return instant.astimezone(UTC).strftime("%b %-d %Y, %H:%M")


def value_words(value: Any) -> str:
    """A value as text: lists joined with commas and 'or', instants as ISO-8601."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        items = [value_words(v) for v in value]
        return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]
    if isinstance(value, datetime):
        return format_instant(value) or ""
    if isinstance(value, timedelta):
        return duration_words(value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def _subject(path: tuple[str, ...]) -> str:
    scope, rest = path[0], path[1:]
    if scope == "group":
        return rest[0].replace("_", " ")
    if scope == "properties":
        return "event " + ".".join(rest)
    builtin = rest[0] == "builtin"
    name = _BUILTINS.get(rest[1], rest[1]) if builtin else ".".join(rest[1:]).replace("_", " ")
    return f"{scope} {name}"


def _compare(node: Compare) -> str:
    subject = _subject(node.path)
    if node.op == "exists":
        return f"{subject} is {'set' if node.value else 'not set'}"
    if node.op == "older_than":
        return f"{subject} is more than {duration_words(node.value)} ago"
    return f"{subject} {_OPERATORS[node.op]} {value_words(node.value)}"


def _count(count: Count, noun: str) -> str:
    plural = noun if count.value == 1 else noun + "s"
    if (count.op, count.value) == ("gte", 1):
        return f"at least one {noun}"
    return f"{_COUNTS[count.op]} {count.value} {plural}"


def say(node: Condition, nested: bool = False) -> str:
    """The parsed condition ``node`` in words (``nested``: in brackets when it has several parts)."""
    if isinstance(node, Compare):
        return _compare(node)
    if isinstance(node, All):
        if not node.items:
            return "always"
        text = " and ".join(say(item, True) for item in node.items)
        return f"({text})" if nested and len(node.items) > 1 else text
    if isinstance(node, AnyOf):
        text = " or ".join(say(item, True) for item in node.items)
        return f"({text})" if nested and len(node.items) > 1 else text
    if isinstance(node, Not):
        return f"not {say(node.item, True)}"
    if isinstance(node, InSegment):
        return f"in segment {node.segment}"
    if isinstance(node, PeopleCount):
        who = _count(node.count, "person").replace("persons", "people")
        match = say(node.match, True)
        return who if match == "always" else f"{who} whose {match.removeprefix('person ')}"
    if isinstance(node, Performed):
        text = f"performed {node.event}"
        if (node.count.op, node.count.value) != ("gte", 1):
            text += f" {_count(node.count, 'time')}"
        if node.where is not None:
            text += f" where {say(node.where, True)}"
        if node.within_last is not None:
            text += f" in the last {duration_words(node.within_last)}"
        return text
    if isinstance(node, BuyingGroupMatch):
        match = say(node.match, True)
        group = f"the {node.solution} buying group"
        return f"{group} exists" if match == "always" else f"{group}'s {match}"
    raise TypeError(f"not a condition: {node!r}")
