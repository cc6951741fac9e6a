"""What the UI pages read that the REST API does not: accounts found by id or name, one
account with its people, buying groups, segments, events and effects, the workspace's
templates and CSMs, and people to preview a template for.

Every function takes a connection and returns plain records (domain dataclasses where the
engine's helpers want them, such as the personalization context of a template).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from itinera.domain.model import CSM, Account, BuyingGroup, Member, Person, Template
from itinera.storage import schema as t
from itinera.timeutil import as_utc, format_instant

__all__ = [
    "AccountView",
    "account_view",
    "csms",
    "effects_of",
    "events_of",
    "find_accounts",
    "find_people",
    "person",
    "recent_enrollments",
    "task_counts",
    "templates",
]


@dataclass(frozen=True)
class AccountView:
    """An account and what hangs off it."""

    account: Account
    people: list[Person]
    groups: list[BuyingGroup]
    segments: list[str]


def _account(row: Any) -> Account:
    return Account(id=row.id, attributes=dict(row.attributes), created_at=as_utc(row.created_at),
                   csm=row.csm, playbooks=list(row.playbooks), moments=list(row.moments), seq=row.seq)


def _person(row: Any) -> Person:
    return Person(id=row.id, account=row.account, email=row.email, attributes=dict(row.attributes),
                  score=row.score, unsubscribed=row.unsubscribed, seq=row.seq)


def find_accounts(conn: sa.Connection, text: str = "", limit: int = 50) -> list[Account]:
    """Accounts whose id starts with ``text`` or whose name contains it (any case), in the
    order they were added."""
    query = sa.select(t.accounts).order_by(t.accounts.c.seq).limit(limit)
    if text:
        name = sa.func.lower(t.accounts.c.attributes["name"].as_string())
        query = query.where(sa.or_(t.accounts.c.id.startswith(text, autoescape=True),
                                   name.contains(text.lower(), autoescape=True)))
    return [_account(r) for r in conn.execute(query)]


def account_view(conn: sa.Connection, id: str) -> AccountView | None:
    row = conn.execute(sa.select(t.accounts).where(t.accounts.c.id == id)).first()
    if row is None:
        return None
    people = [_person(r) for r in conn.execute(
        sa.select(t.people).where(t.people.c.account == id).order_by(t.people.c.seq))]
    groups = [BuyingGroup(account=r.account, solution=r.solution, template=r.template,
                          status=r.status, members=[Member(m["person"], m["role"]) for m in r.members],
                          engagement_score=r.engagement_score,
                          completeness_score=r.completeness_score, seq=r.seq)
              for r in conn.execute(sa.select(t.buying_groups).where(t.buying_groups.c.account == id)
                                    .order_by(t.buying_groups.c.seq))]
    segments = list(conn.execute(sa.select(t.segment_members.c.segment).where(
        t.segment_members.c.account == id).order_by(t.segment_members.c.segment)).scalars())
    return AccountView(_account(row), people, groups, segments)


def person(conn: sa.Connection, id: str) -> Person | None:
    row = conn.execute(sa.select(t.people).where(t.people.c.id == id)).first()
    return None if row is None else _person(row)


def find_people(conn: sa.Connection, limit: int = 500) -> list[Person]:
    """People to choose from, in the order they were added."""
    rows = conn.execute(sa.select(t.people).order_by(t.people.c.seq).limit(limit))
    return [_person(r) for r in rows]


def events_of(conn: sa.Connection, account: str, people: list[str],
              limit: int = 200) -> list[dict[str, Any]]:
    """The latest events of the account and of its people, oldest first."""
    who = t.events.c.account == account
    if people:
        who = sa.or_(who, t.events.c.person.in_(people))
    rows = conn.execute(sa.select(t.events).where(who).order_by(t.events.c.seq.desc()).limit(limit))
    return [{"id": r.id, "type": r.type, "person": r.person, "at": format_instant(as_utc(r.at)),
             "properties": dict(r.properties)} for r in reversed(list(rows))]


def effects_of(conn: sa.Connection, account: str, limit: int = 200) -> list[dict[str, Any]]:
    """What the journeys did to the account and its people (emails, tasks, campaigns,
    webhooks), oldest first."""
    rows = conn.execute(sa.select(t.effects).where(t.effects.c.account == account)
                        .order_by(t.effects.c.id.desc()).limit(limit))
    return [{"id": r.id, "channel": r.channel, "status": r.status, "journey": r.journey,
             "node": r.node, "person": r.person, "at": format_instant(as_utc(r.at)),
             "payload": dict(r.payload)} for r in reversed(list(rows))]


def _config(conn: sa.Connection, kind: str) -> list[tuple[str, dict[str, Any]]]:
    rows = conn.execute(sa.select(t.config.c.id, t.config.c.body)
                        .where(t.config.c.kind == kind).order_by(t.config.c.seq))
    return [(r.id, dict(r.body)) for r in rows]


def templates(conn: sa.Connection) -> list[Template]:
    found = []
    for id, body in _config(conn, "template"):
        found.append(Template(id=id, subject=body.get("subject", ""), text=body.get("text", ""),
                              html=body.get("html"), preheader=body.get("preheader"),
                              approved=bool(body.get("approved", True))))
    return found


def csms(conn: sa.Connection) -> list[CSM]:
    return [CSM(id, body.get("name"), body.get("email")) for id, body in _config(conn, "csm")]


def recent_enrollments(conn: sa.Connection, journey: str, limit: int = 12) -> list[dict[str, Any]]:
    """The journey's latest enrollments, newest first, with the account's name."""
    e, a = t.enrollments, t.accounts
    rows = conn.execute(sa.select(e.c.id, e.c.account, e.c.version, e.c.status, e.c.goal_achieved,
                                  e.c.enrolled_at, e.c.path, a.c.attributes)
                        .join(a, a.c.id == e.c.account, isouter=True)
                        .where(e.c.journey == journey).order_by(e.c.id.desc()).limit(limit))
    return [{"id": r.id, "account": r.account, "version": r.version, "status": r.status,
             "goal_achieved": r.goal_achieved, "enrolled_at": format_instant(as_utc(r.enrolled_at)),
             "at": (list(r.path) or [None])[-1],
             "name": (r.attributes or {}).get("name")} for r in rows]


def task_counts(conn: sa.Connection) -> dict[str, int]:
    """How many tasks are open (any status but completed) and completed."""
    c = t.effects.c
    rows = conn.execute(sa.select(c.status, sa.func.count()).where(c.channel == "task")
                        .group_by(c.status))
    counts = {"open": 0, "completed": 0}
    for status, n in rows:
        counts["completed" if status == "completed" else "open"] += int(n)
    return counts
