"""Journey rules in words: conditions, entry, goal and exit as a person would say them.

The UI shows what a journey does to people who do not read YAML, so each condition is parsed
with the language's own parser and each node of the tree is said in plain English
("account state is CA and the Bodea-Product X buying group's status is Engaged"). A condition
that does not parse (never the case for a published journey) is shown as written.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from itinera.conditions.parse import Scope, parse_condition
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

__all__ = ["condition_paths", "describe", "duration_words", "entry_brief", "entry_words", "exit_words",
           "goal_words", "instant_words", "value_words"]

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


def _say(node: Condition, nested: bool = False) -> str:
    if isinstance(node, Compare):
        return _compare(node)
    if isinstance(node, All):
        if not node.items:
            return "always"
        text = " and ".join(_say(item, True) for item in node.items)
        return f"({text})" if nested and len(node.items) > 1 else text
    if isinstance(node, AnyOf):
        text = " or ".join(_say(item, True) for item in node.items)
        return f"({text})" if nested and len(node.items) > 1 else text
    if isinstance(node, Not):
        return f"not {_say(node.item, True)}"
    if isinstance(node, InSegment):
        return f"in segment {node.segment}"
    if isinstance(node, PeopleCount):
        who = _count(node.count, "person").replace("persons", "people")
        match = _say(node.match, True)
        return who if match == "always" else f"{who} whose {match.removeprefix('person ')}"
    if isinstance(node, Performed):
        text = f"performed {node.event}"
        if (node.count.op, node.count.value) != ("gte", 1):
            text += f" {_count(node.count, 'time')}"
        if node.where is not None:
            text += f" where {_say(node.where, True)}"
        if node.within_last is not None:
            text += f" in the last {duration_words(node.within_last)}"
        return text
    if isinstance(node, BuyingGroupMatch):
        match = _say(node.match, True)
        group = f"the {node.solution} buying group"
        return f"{group} exists" if match == "always" else f"{group}'s {match}"
    raise TypeError(f"not a condition: {node!r}")


def describe(raw: Any, scope: Scope = Scope.ACCOUNT) -> str:
    """The condition ``raw`` (as written in a journey) in words."""
    try:
        return _say(parse_condition(raw, scope=scope))
    except (ValueError, TypeError, KeyError):
        return json.dumps(raw, sort_keys=True, default=str)


def condition_paths(raw: Any, scope: Scope = Scope.ACCOUNT) -> list[tuple[str, ...]]:
    """The account or person fields a condition reads (resolved paths, in order, once each),
    and ``("group", solution, field)`` for buying-group fields: what to show beside a decision."""
    try:
        tree = parse_condition(raw, scope=scope)
    except ValueError:
        return []
    found: dict[tuple[str, ...], None] = {}

    def walk(node: Condition, solution: str | None) -> None:
        if isinstance(node, Compare):
            if node.path[0] == "group" and solution is not None:
                found[("group", solution, node.path[1])] = None
            elif node.path[0] in ("account", "person"):
                found[node.path] = None
        elif isinstance(node, All | AnyOf):
            for item in node.items:
                walk(item, solution)
        elif isinstance(node, Not):
            walk(node.item, solution)
        elif isinstance(node, BuyingGroupMatch):
            walk(node.match, node.solution)

    walk(tree, None)
    return list(found)


def entry_brief(entry: Mapping[str, Any]) -> str:
    """Who enters, in a few words (``segment bodea-targets``, ``on trial.started``)."""
    parts = []
    segments = entry.get("segments") or []
    if segments:
        parts.append(f"segment{'s' if len(segments) > 1 else ''} {', '.join(segments)}")
    event = entry.get("event")
    if isinstance(event, Mapping):
        parts.append(f"on {event.get('type')}")
    return " or ".join(parts) or "no entry rule"


def entry_words(entry: Mapping[str, Any]) -> str:
    """Who enters the journey, and whether they may enter again."""
    parts = []
    segments = entry.get("segments") or []
    if segments:
        which = ", ".join(segments)
        parts.append(f"accounts entering segment{'s' if len(segments) > 1 else ''} {which}"
                     + (" (and those already in it when enabled)" if entry.get("existing") else ""))
    event = entry.get("event")
    if isinstance(event, Mapping):
        text = f"accounts sending {event.get('type')}"
        if event.get("where"):
            text += f" where {describe(event['where'], Scope.EVENT)}"
        parts.append(text)
    reenroll = entry.get("reenroll", "never")
    again = {"never": "never re-enter", "always": "may re-enter at once"}.get(
        reenroll if isinstance(reenroll, str) else "",
        f"may re-enter {reenroll.get('after')} after leaving" if isinstance(reenroll, Mapping) else "")
    return ("; or ".join(parts) or "no entry rule") + f" — {again}"


def goal_words(goal: Mapping[str, Any] | None) -> str | None:
    """The goal and what happens once it is met, or None without a goal."""
    if not goal:
        return None
    then = ("the account leaves the journey" if goal.get("on_met", "exit") == "exit"
            else "the journey goes on")
    return f"{describe(goal.get('when'))} — then {then}"


def exit_words(exit: Mapping[str, Any] | None) -> list[str]:
    """Each exit rule in words (empty without any)."""
    rules = []
    if exit and exit.get("when"):
        rules.append(f"leaves when {describe(exit['when'])}")
    if exit and exit.get("on_segment_exit"):
        rules.append("leaves when the account leaves its entry segments")
    if exit and exit.get("unenroll_from"):
        rules.append("entering unenrolls the account from " + ", ".join(exit["unenroll_from"]))
    return rules
