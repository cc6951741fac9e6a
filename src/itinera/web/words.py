"""Journey rules in words: conditions, entry, goal and exit as a person would say them.

The UI shows what a journey does to people who do not read YAML, so each condition is parsed
with the language's own parser and each node of the tree is said in plain English
("account state is CA and the Bodea-Product X buying group's status is Engaged"). A condition
that does not parse (never the case for a published journey) is shown as written. Saying a
parsed condition is the condition language's own (``conditions.words``, re-exported here).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from itinera.conditions.parse import Scope, parse_condition
from itinera.conditions.tree import All, AnyOf, BuyingGroupMatch, Compare, Condition, Not
from itinera.conditions.words import duration_words, instant_words, say, value_words

__all__ = ["condition_paths", "describe", "duration_words", "entry_brief", "entry_words", "exit_words",
           "goal_words", "instant_words", "say", "value_words"]


def describe(raw: Any, scope: Scope = Scope.ACCOUNT) -> str:
    """The condition ``raw`` (as written in a journey) in words."""
    try:
        return say(parse_condition(raw, scope=scope))
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
