"""Why (not)?: why an account is or is not in a journey, read from a live store.

``why(conn, account, journey, now)`` answers for any account and journey, enrolled or not: the
journey's status and version; its entry — by segment (is the account in it now, each clause of
the segment's condition with the values it read and which clause decided) or by event (has a
matching one arrived, when); the re-entry rule and the account's enrollments in the journey
(whether it may enter again, from when); the goal and exit criteria of an active enrollment; and
the next instant the answer would change by time alone. The web UI's account page, the API
(``GET /api/accounts/{id}/explain``) and ``itinera explain`` show this one document.

It decides nothing: conditions are the engine's evaluator's (``conditions.evaluate``), values
``conditions.explain``, time-based flips ``conditions.next_change`` and the re-entry rule
``CompiledJourney.reentry_opens`` — the rules the engine applies. It reads what the worker has
applied (the caller owns the connection's transaction).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from itinera.conditions import Condition, evaluate, explain, next_change, parse_condition
from itinera.conditions.tree import All, AnyOf
from itinera.conditions.words import say
from itinera.definitions.models import Journey
from itinera.domain.model import Account, BuyingGroup, Event, Person
from itinera.engine.catalog import CompiledJourney
from itinera.errors import StoreError
from itinera.storage import queries, views
from itinera.storage import schema as t
from itinera.storage.rows import account_events
from itinera.timeutil import as_utc, format_instant, parse_instant

__all__ = ["ENROLLMENTS", "FLIP_STEPS", "NotFound", "why", "why_each"]

# Candidate instants ``next_flip`` offers (a superset of the real flips) tried before saying the
# condition does not change by time alone within them: bounds the work for any account.
FLIP_STEPS = 64
ENROLLMENTS = 100  # an account's latest enrollments in the journey the answer lists


class NotFound(StoreError):
    """No such account or journey."""


class _Facts:
    """What a condition may read about one account, from a connection (``conditions.Facts``)."""

    def __init__(self, conn: sa.Connection, view: views.AccountView) -> None:
        self._conn, self._view = conn, view
        self._events: dict[str, list[Event]] = {}

    @property
    def account(self) -> Account:
        return self._view.account

    def people(self) -> Sequence[Person]:
        return self._view.people

    def buying_groups(self) -> Sequence[BuyingGroup]:
        return self._view.groups

    def segments(self) -> set[str]:
        return set(self._view.segments)

    def events(self, type: str) -> Sequence[Event]:
        if type not in self._events:
            rows = self._conn.execute(
                sa.select(account_events(True)).order_by(account_events(True).c.seq),
                {"account": self.account.id, "type": type})
            self._events[type] = [
                Event(id=r.id, type=r.type, at=as_utc(r.at), account=r.account, person=r.person,
                      properties=dict(r.properties), seq=r.seq) for r in rows]
        return self._events[type]


def _iso(value: datetime | None) -> str | None:
    return None if value is None else format_instant(value)


def _condition(tree: Condition, facts: _Facts, now: datetime) -> dict[str, Any]:
    """A condition's truth now, its clauses (the top-level parts of an all/any) with their own
    truth and values, which clause decided, and when time alone would flip it."""
    holds = evaluate(tree, facts, now)
    items = tree.items if isinstance(tree, All | AnyOf) and tree.items else (tree,)
    clauses = [{"condition": say(item), "holds": evaluate(item, facts, now),
                "values": explain(item, facts, now)} for item in items]
    # The first clause that made an all false or an any true; a lone clause decides alone.
    wanted = isinstance(tree, AnyOf)
    deciding = None if len(items) > 1 and holds is not wanted else next(
        (i for i, c in enumerate(clauses) if c["holds"] is holds), None)
    return {"condition": say(tree), "holds": holds, "clauses": clauses, "deciding": deciding,
            "next_flip": _iso(next_change(tree, facts, now, FLIP_STEPS))}


def _segments(conn: sa.Connection) -> dict[str, Any]:
    rows = conn.execute(sa.select(t.config.c.id, t.config.c.body)
                        .where(t.config.c.kind == "segment"))
    return {r.id: r.body for r in rows}


def _entry(account: _Account, journey: CompiledJourney, now: datetime) -> dict[str, Any]:
    entry, facts = journey.definition.entry, account.facts
    raw_segments = account.segments() if entry.segments else {}
    segments = []
    for sid in entry.segments:
        found: dict[str, Any] = {"id": sid, "member": sid in facts.segments()}
        if sid in raw_segments:
            found.update(_condition(parse_condition(raw_segments[sid]), facts, now))
        else:  # published journeys' segments exist; one removed since is said so
            found.update(condition=None, holds=False, clauses=[], deciding=None, next_flip=None)
        segments.append(found)
    event = None
    if entry.event is not None:
        matching = [e for e in facts.events(entry.event.type) if journey.entry_where is None
                    or evaluate(journey.entry_where, facts, now, event=e)]
        latest = matching[-1] if matching else None
        event = {"type": entry.event.type,
                 "where": None if journey.entry_where is None else say(journey.entry_where),
                 "count": len(matching),
                 "latest": None if latest is None else {"id": latest.id, "at": _iso(latest.at),
                                                        "person": latest.person}}
    flips = [s["next_flip"] for s in segments if s["next_flip"] is not None]
    return {"segments": segments, "existing": entry.existing, "event": event,
            "in_segment": any(s["holds"] for s in segments),
            "next_flip": min(flips, key=parse_instant) if flips else None}


def _reentry(journey: CompiledJourney, enrollments: list[dict[str, Any]],
             now: datetime) -> dict[str, Any]:
    rule = journey.definition.entry.reenroll
    words = rule if isinstance(rule, str) else f"after {rule.after}"
    active = next((e for e in enrollments if e["status"] == "active"), None)
    last = enrollments[-1] if enrollments else None
    if active is not None:
        return {"rule": words, "allowed": False, "from": None,
                "reason": f"already enrolled (enrollment {active['id']}): one active enrollment "
                          "per journey"}
    if last is None:
        return {"rule": words, "allowed": True, "from": None, "reason": "never enrolled before"}
    ended = None if last["ended_at"] is None else parse_instant(last["ended_at"])
    opens = journey.reentry_opens(parse_instant(last["enrolled_at"]), ended)
    if opens is None:
        return {"rule": words, "allowed": False, "from": None,
                "reason": f"enrollment {last['id']} ended {last['ended_at']} and the rule is "
                          "never to re-enter"}
    if opens > now:
        return {"rule": words, "allowed": False, "from": _iso(opens),
                "reason": f"enrollment {last['id']} ended {last['ended_at']}: it may enter "
                          f"again from {_iso(opens)}"}
    return {"rule": words, "allowed": True, "from": _iso(opens),
            "reason": f"enrollment {last['id']} ended {last['ended_at']}: it may enter again"}


def _summary(doc: dict[str, Any], active: dict[str, Any] | None) -> str:
    """The answer in one sentence."""
    status, entry, again = doc["status"], doc["entry"], doc["reenroll"]
    if active is not None:
        return (f"Enrolled since {active['enrolled_at']} (enrollment {active['id']}, "
                f"version {active['version']})" + (
                    f"; the journey is {status}: its enrollments take no steps until it is "
                    "resumed." if status == "paused" else "."))
    if status != "enabled":
        return f"Not enrolled: the journey is {status} and enrolls no one until it is enabled."
    if not again["allowed"]:
        return f"Not enrolled: {again['reason']}."
    reasons = []
    for segment in entry["segments"]:
        if segment["holds"]:
            reasons.append(f"it is in segment {segment['id']} but enrolls only on entering it"
                           + (" (or when the journey was enabled)" if entry["existing"] else ""))
        elif segment["deciding"] is not None:
            clause = segment["clauses"][segment["deciding"]]
            reasons.append(f"not in segment {segment['id']}: {clause['condition']} is false")
        else:
            reasons.append(f"not in segment {segment['id']}")
    if entry["event"] is not None:
        event = entry["event"]
        reasons.append(f"no matching {event['type']} event has arrived" if event["latest"] is None
                       else f"the last matching {event['type']} event arrived "
                            f"{event['latest']['at']}, when it could not enter (before the "
                            "journey was enabled, or while enrolled or refused re-entry)")
    return "Not enrolled: " + ("; ".join(reasons) or "the journey has no entry rule") + "."


def why(conn: sa.Connection, account: str, journey: str, now: datetime) -> dict[str, Any]:
    """Why ``account`` is or is not in ``journey`` at ``now``, as a JSON-ready document.
    Raises NotFound for an unknown account or journey."""
    found = queries.journey(conn, journey)
    if found is None:
        raise NotFound(f"no journey {journey!r}")
    return _Account(conn, account).why(found, now)


def why_each(conn: sa.Connection, account: str, now: datetime,
             limit: int = 50) -> list[dict[str, Any]]:
    """``why`` for each published journey (the first ``limit``, by id), reading the account
    once. Raises NotFound for an unknown account."""
    reader, answers = _Account(conn, account), []
    for found in queries.journeys(conn)[:limit]:
        version = found["version"] or found["versions"][-1]["version"]
        answers.append(reader.why({**found, "definition": _definition(conn, found["id"], version)},
                                  now))
    return answers


class _Account:
    """One account's facts and the workspace's segments, read once for any number of journeys."""

    def __init__(self, conn: sa.Connection, account: str) -> None:
        view = views.account_view(conn, account)
        if view is None:
            raise NotFound(f"no account {account!r}")
        self.conn, self.id, self.facts = conn, account, _Facts(conn, view)
        self._segments: dict[str, Any] | None = None

    def segments(self) -> dict[str, Any]:
        if self._segments is None:
            self._segments = _segments(self.conn)
        return self._segments

    def why(self, found: dict[str, Any], now: datetime) -> dict[str, Any]:
        """The answer for the journey ``queries.journey`` gave as ``found``."""
        conn, journey = self.conn, found["id"]
        version = found["version"] or found["versions"][-1]["version"]
        compiled = CompiledJourney.compile(Journey.model_validate(found["definition"]), version)
        enrollments = _enrollments(conn, journey, self.id)
        active = next((e for e in enrollments if e["status"] == "active"), None)
        doc: dict[str, Any] = {
            "account": self.id, "journey": journey, "name": found["name"],
            "status": found["status"], "version": version, "at": _iso(now),
            "entry": _entry(self, compiled, now),
            "reenroll": _reentry(compiled, enrollments, now),
            "enrollments": enrollments, "goal": None, "exit": None,
        }
        if active is not None:  # what would end it: the version it runs, not the current one
            running = compiled if active["version"] == version else CompiledJourney.compile(
                Journey.model_validate(_definition(conn, journey, active["version"])),
                active["version"])
            for key, tree in (("goal", running.goal), ("exit", running.exit)):
                if tree is not None:
                    doc[key] = _condition(tree, self.facts, now)
        doc["summary"] = _summary(doc, active)
        changes = [c for c in (doc["entry"]["next_flip"], doc["reenroll"]["from"],
                               (doc["goal"] or {}).get("next_flip"),
                               (doc["exit"] or {}).get("next_flip"))
                   if c is not None and parse_instant(c) > now]
        doc["next_change"] = min(changes, key=parse_instant) if changes else None
        return doc


def _enrollments(conn: sa.Connection, journey: str, account: str) -> list[dict[str, Any]]:
    """The account's latest ``ENROLLMENTS`` enrollments in the journey, oldest first (the last
    one decides re-entry, however many came before)."""
    c = t.enrollments.c
    rows = conn.execute(sa.select(t.enrollments).where(c.journey == journey, c.account == account)
                        .order_by(c.id.desc()).limit(ENROLLMENTS))
    return [{"id": r.id, "version": r.version, "status": r.status,
             "enrolled_at": _iso(as_utc(r.enrolled_at)),
             "ended_at": None if r.ended_at is None else _iso(as_utc(r.ended_at)),
             "reason": r.reason, "goal_achieved": r.goal_achieved} for r in reversed(list(rows))]


def _definition(conn: sa.Connection, journey: str, version: int) -> dict[str, Any]:
    definition: dict[str, Any] = conn.execute(sa.select(t.journeys.c.definition).where(
        t.journeys.c.id == journey, t.journeys.c.version == version)).scalar_one()
    return definition
