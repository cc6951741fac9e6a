"""An account's timeline: its events, enrollments, node visits and each decision with the
values that decided it, and what the journeys did (emails, tasks, campaigns), in order.

Decisions are recorded with the rule that decided them (the branch's condition, the variant's
draw, the event heard); the fields a rule reads are shown beside it with their values. The
history keeps a value when it recorded one (``values``); otherwise the value shown is the
current one, and says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from itinera.conditions.parse import Scope
from itinera.domain.model import BuyingGroup, Person
from itinera.storage.views import AccountView
from itinera.timeutil import parse_instant
from itinera.web.words import condition_paths, describe, instant_words, value_words

__all__ = ["Fact", "TimelineItem", "account_timeline"]


@dataclass(frozen=True)
class Fact:
    """A line under a timeline item: a name and a value (``now``: the value is the current
    one, not the one recorded at the time)."""

    name: str
    value: str
    now: bool = False


@dataclass(frozen=True)
class TimelineItem:
    at: str
    kind: str  # event | score | enrolled | decision | ended | goal | effect
    title: str
    journey: str | None = None
    enrollment: int | None = None
    node: str | None = None
    facts: list[Fact] = field(default_factory=list)


# Why an action reached nobody, in words (the recorded reason otherwise).
_REASONS = {"no_recipients": "no recipients (nobody on the path matched)",
            "no_assignee": "no assignee (the account has no CSM)",
            "no_url": "no URL (it rendered empty)",
            "no_people": "nobody (no one on the path matched)"}

# At one instant, the events come first, then enrollments, then what they did.
_FIRST = {"event": 0, "score": 0, "enrolled": 1}


def _field_value(path: tuple[str, ...], view: AccountView, person: Person | None) -> tuple[str, Any]:
    if path[0] == "group":
        solution, name = path[1], path[2]
        group: BuyingGroup | None = next((g for g in view.groups if g.solution == solution), None)
        value = None if group is None else getattr(group, name, None)
        return f"{solution} group {name.replace('_', ' ')}", value
    record: Any = view.account if path[0] == "account" else person
    if path[1] == "builtin":
        return f"{path[0]} {path[2]}", getattr(record, path[2], None) if record else None
    found: Any = record.attributes if record else None
    for name in path[2:]:
        found = found.get(name) if isinstance(found, Mapping) else None
    return f"{path[0]} {'.'.join(path[2:])}", found


def _values(conditions: Sequence[Any], view: AccountView, recorded: Mapping[str, Any] | None,
            scope: Scope = Scope.ACCOUNT, person: Person | None = None) -> list[Fact]:
    if recorded:  # the values the decision read, as the history kept them
        return [Fact(_recorded_name(name), "not set" if value is None else value_words(value))
                for name, value in recorded.items()]
    paths: dict[tuple[str, ...], None] = {}
    for raw in conditions:
        paths.update(dict.fromkeys(condition_paths(raw, scope)))
    facts = []
    for path in paths:
        name, value = _field_value(path, view, person)
        facts.append(Fact(name, "not set" if value is None else value_words(value), now=True))
    return facts


def _recorded_name(name: str) -> str:
    """``account.state`` → ``account state`` (as the fields read now are named);
    ``in_segment.trial`` → ``in segment trial``."""
    scope, _, rest = name.partition(".")
    return f"{scope.replace('_', ' ')} {rest}" if rest else name


def _branches(definition: Mapping[str, Any] | None, node: str | None, kind: str) -> list[Any]:
    nodes = (definition or {}).get("nodes") or {}
    spec = nodes.get(node, {}).get(kind) if node else None
    return spec if isinstance(spec, list) else []


def _listed(value: Any) -> str:
    """What an action recorded: people as a list (``ada, bob``), people not reached with
    why (``bob (no_email)``), other values in words."""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, Mapping):
        return ", ".join(f"{k} ({v})" for k, v in value.items())
    return value_words(value)


def _decision(entry: Mapping[str, Any], definition: Mapping[str, Any] | None,
              view: AccountView) -> tuple[str, list[Fact]]:
    node, decision = entry.get("node"), entry.get("decision")
    if decision == "split":
        branches = _branches(definition, node, "split")
        conditions = [b.get("when") for b in branches if isinstance(b, Mapping) and b.get("when")]
        values = _values(conditions, view, entry.get("values"))
        if entry.get("branch") is None:
            return "no branch matched — the path ends here", values
        if entry.get("branch") == "else":
            return f"no condition held: otherwise → {entry.get('next')}", values
        because = Fact("because", describe(entry.get("when")))
        return f"took branch {int(entry['branch']) + 1} → {entry.get('next')}", [because, *values]
    if decision == "split_people":
        branches = _branches(definition, node, "split_people")
        conditions = [b.get("when") for b in branches if isinstance(b, Mapping) and b.get("when")]
        people = {p.id: p for p in view.people}
        recorded = entry.get("values") or {}
        facts = []
        for branch in entry.get("branches", []):
            who = []
            for id in branch.get("people", []):
                found = people.get(id)
                values = _values(conditions, view, recorded.get(id), Scope.PERSON, found)
                shown = ", ".join(f.value for f in values if f.name.startswith("person "))
                who.append(f"{id} ({shown})" if shown else id)
            facts.append(Fact(f"→ {branch.get('next')}", ", ".join(who) or "nobody", now=bool(who)))
        return "split the people", facts
    if decision == "actions":
        facts = []
        for action in entry.get("actions", []):
            rest = {k: v for k, v in action.items() if k not in ("action", "skipped")}
            said = [f"{k.replace('_', ' ')} {_listed(v)}" for k, v in rest.items()]
            if action.get("skipped"):  # it did nothing: never "done"
                why = str(action["skipped"])
                said.insert(0, f"skipped: {_REASONS.get(why, why)}")
            facts.append(Fact(str(action.get("action", "")).replace("_", " "),
                              ", ".join(said) or "done"))
        return "ran its actions", facts
    if decision == "experiment":
        return (f"variant {entry.get('variant')} of {entry.get('experiment')} → {entry.get('next')}",
                [Fact("draw", value_words(entry.get("draw")))])
    if decision == "merge":
        return f"{entry.get('joined')} paths joined", [
            Fact("people", ", ".join(entry.get("people", [])) or "nobody")]
    if decision in ("wait_for", "wait_until"):
        facts = [Fact("why", str(entry.get("why")))]
        if entry.get("due"):
            facts.append(Fact("due", instant_words(entry["due"])))
        return f"went on at once → {entry.get('next')}", facts
    return str(decision), [Fact(k, value_words(v)) for k, v in entry.items()
                           if k not in ("at", "node", "decision")]


def _listened(entry: Mapping[str, Any], definition: Mapping[str, Any] | None,
              view: AccountView) -> list[Fact]:
    node = ((definition or {}).get("nodes") or {}).get(entry.get("node"), {})
    condition = (node.get("wait_for") or {}).get("condition")
    facts = [Fact("why", str(entry.get("why")))]
    if condition:
        facts.append(Fact("listening for", describe(condition)))
        facts += _values([condition], view, entry.get("values"))
    return facts


def _history(enrollment: Mapping[str, Any], history: Sequence[Mapping[str, Any]],
             definition: Mapping[str, Any] | None, view: AccountView) -> list[TimelineItem]:
    journey, id = enrollment["journey"], enrollment["id"]
    items = []
    for entry in history:
        at, node, event = entry["at"], entry.get("node"), entry.get("event")
        common = {"journey": journey, "enrollment": id, "node": node}
        if event == "enrolled":
            trigger = entry.get("trigger") or {}
            why = ("already in the entry segment when the journey was enabled" if trigger.get("existing")
                   else f"entered segment {trigger['segment']}" if trigger.get("segment")
                   else f"sent {trigger['event'].get('type')}" if trigger.get("event") else "entered")
            items.append(TimelineItem(at, "enrolled", f"enrolled in {journey} (version "
                                      f"{enrollment['version']})", facts=[Fact("why", why)], **common))
        elif event == "ended":
            items.append(TimelineItem(at, "ended", f"left {journey}: {entry.get('status')}",
                                      facts=[Fact("reason", str(entry.get("reason")))], **common))
        elif event == "goal_achieved":
            items.append(TimelineItem(at, "goal", f"reached the goal of {journey}",
                                      facts=[Fact("goal", describe(entry.get("when")))], **common))
        elif event == "resumed":
            items.append(TimelineItem(at, "decision", f"{node}: heard → {entry.get('next')}",
                                      facts=_listened(entry, definition, view), **common))
        elif event == "moved":  # a publish moved it to a new version
            source, target = entry.get("from") or {}, entry.get("to") or {}
            facts = [Fact("from", f"{source.get('node')} (version {source.get('version')})"),
                     Fact("due", instant_words(entry.get("due")) if entry.get("due") else "—")]
            items.append(TimelineItem(at, "decision", f"moved to version {target.get('version')} "
                                      f"at {target.get('node')}", facts=facts, **common))
        elif event == "path_ended":
            items.append(TimelineItem(at, "decision", f"{node}: the path ends",
                                      facts=[Fact("why", str(entry.get("why")))], **common))
        elif "decision" in entry:
            title, facts = _decision(entry, definition, view)
            items.append(TimelineItem(at, "decision", f"{node}: {title}", facts=facts, **common))
    return items


def _effect(effect: Mapping[str, Any]) -> TimelineItem:
    payload, channel = effect["payload"], effect["channel"]
    skipped = effect["status"] == "skipped"
    # A skipped effect without a person reached nobody (no recipients, no assignee).
    who = effect.get("person") or ("nobody" if skipped else "the account")
    reason = [Fact("reason", _REASONS.get(str(payload.get("reason")), str(payload.get("reason"))))
              ] if skipped else []
    if channel == "email":
        title = f"email {payload.get('template')} to {who}: {effect['status']}"
        facts = [Fact("subject", str(payload["subject"]))] if payload.get("subject") else []
        facts += reason
    elif channel == "task":
        title = (f"task not created: {payload.get('title')}" if skipped
                 else f"task for {payload.get('assignee')}: {payload.get('title')}")
        facts = [Fact("status", effect["status"]), *reason,
                 Fact("due", instant_words(payload.get("due")))]
    else:
        title = f"{channel} for {who}" + (": skipped" if skipped else "")
        facts = reason + [Fact(k, value_words(v)) for k, v in payload.items()
                          if v is not None and k != "reason"][:4]
    return TimelineItem(effect["at"], "effect", title, effect.get("journey"), None, effect.get("node"),
                        facts)


def _event(event: Mapping[str, Any]) -> TimelineItem:
    who = f" by {event['person']}" if event.get("person") else ""
    properties = event["properties"]
    if event["type"] == "person.score_changed":  # the engine's own note: one quiet line
        by = properties.get("by")
        change = f"{by:+g}" if isinstance(by, int | float) else value_words(by)
        return TimelineItem(event["at"], "score", f"score of {event.get('person')} {change} → "
                            f"{value_words(properties.get('score'))}")
    return TimelineItem(event["at"], "event", event["type"] + who,
                        facts=[Fact(k, value_words(v)) for k, v in properties.items()])


def account_timeline(view: AccountView, events: Sequence[Mapping[str, Any]],
                     enrollments: Sequence[tuple[Mapping[str, Any], Sequence[Mapping[str, Any]]]],
                     definitions: Mapping[tuple[str, int], Mapping[str, Any]],
                     effects: Sequence[Mapping[str, Any]]) -> list[TimelineItem]:
    """Every item, oldest first; at one instant, events before what they caused."""
    items = [_event(e) for e in events]
    for enrollment, history in enrollments:
        definition = definitions.get((enrollment["journey"], enrollment["version"]))
        items += _history(enrollment, history, definition, view)
    items += [_effect(e) for e in effects]
    ranked = sorted(enumerate(items),
                    key=lambda p: (parse_instant(p[1].at), _FIRST.get(p[1].kind, 2), p[0]))
    return [item for _, item in ranked]
