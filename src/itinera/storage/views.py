"""What the store holds about accounts and people, read for those who look at it: the REST API,
the ``itinera accounts`` command and the web UI.

Accounts found by id prefix or name and paged in the order they were added; one account with
its people, buying groups and segments (:class:`AccountView`), and as a JSON-ready document with
its enrollments too (:func:`account_document`); a person; the latest events of an account and
its people, and what the journeys did to them; the workspace's templates and CSMs.

Every function takes a connection (the caller owns the transaction) and reads only what the
worker has applied: inputs still in the inbox are not visible yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from itinera.domain.approval import content_hash
from itinera.domain.model import CSM, Account, BuyingGroup, Person, Template
from itinera.errors import StoreError
from itinera.storage import queries, reviews
from itinera.storage import schema as t
from itinera.storage.rows import account_events, account_from_row, group_from_row, person_from_row
from itinera.timeutil import as_utc, format_instant

__all__ = [
    "ACCOUNT_ENROLLMENTS",
    "AccountView",
    "account",
    "account_document",
    "account_record",
    "account_view",
    "csms",
    "effects_of",
    "events_of",
    "find_accounts",
    "find_people",
    "group_record",
    "person",
    "person_record",
    "templates",
]

ACCOUNT_ENROLLMENTS = 1000  # enrollments an account document lists; /api/enrollments pages them all


@dataclass(frozen=True)
class AccountView:
    """An account and what hangs off it."""

    account: Account
    people: list[Person]
    groups: list[BuyingGroup]
    segments: list[str]


def find_accounts(conn: sa.Connection, text: str = "", limit: int = 50,
                  after: str | None = None) -> list[Account]:
    """Accounts whose id starts with ``text`` or whose name contains it (in any case), in the
    order they were added; with ``after`` (an account's id), those added after it.
    Raises StoreError when ``after`` names no account."""
    c = t.accounts.c
    query = sa.select(t.accounts).order_by(c.seq).limit(limit)
    if text:  # in any case on both backends (SQLite's LIKE ignores case, PostgreSQL's does not)
        query = query.where(sa.or_(c.id.istartswith(text, autoescape=True),
                                   c.attributes["name"].as_string().icontains(text, autoescape=True)))
    if after is not None:
        seq = conn.execute(sa.select(c.seq).where(c.id == after)).scalar()
        if seq is None:
            raise StoreError(f"no account {after!r}")
        query = query.where(c.seq > seq)
    return [account_from_row(r) for r in conn.execute(query)]


def account(conn: sa.Connection, id: str) -> Account | None:
    row = conn.execute(sa.select(t.accounts).where(t.accounts.c.id == id)).first()
    return None if row is None else account_from_row(row)


def account_view(conn: sa.Connection, id: str) -> AccountView | None:
    row = conn.execute(sa.select(t.accounts).where(t.accounts.c.id == id)).first()
    if row is None:
        return None
    people = [person_from_row(r) for r in conn.execute(
        sa.select(t.people).where(t.people.c.account == id).order_by(t.people.c.seq))]
    groups = [group_from_row(r) for r in conn.execute(
        sa.select(t.buying_groups).where(t.buying_groups.c.account == id)
        .order_by(t.buying_groups.c.seq))]
    segments = list(conn.execute(sa.select(t.segment_members.c.segment).where(
        t.segment_members.c.account == id).order_by(t.segment_members.c.segment)).scalars())
    return AccountView(account_from_row(row), people, groups, segments)


def person(conn: sa.Connection, id: str) -> Person | None:
    row = conn.execute(sa.select(t.people).where(t.people.c.id == id)).first()
    return None if row is None else person_from_row(row)


def find_people(conn: sa.Connection, limit: int = 500) -> list[Person]:
    """People to choose from, in the order they were added."""
    rows = conn.execute(sa.select(t.people).order_by(t.people.c.seq).limit(limit))
    return [person_from_row(r) for r in rows]


def events_of(conn: sa.Connection, account: str, limit: int = 200) -> list[dict[str, Any]]:
    """The latest ``limit`` events of the account and of its people, oldest first."""
    events = account_events(False)
    rows = conn.execute(sa.select(events).order_by(events.c.seq.desc()).limit(limit),
                        {"account": account})
    return [{"id": r.id, "type": r.type, "account": r.account, "person": r.person,
             "at": format_instant(as_utc(r.at)), "properties": dict(r.properties)}
            for r in reversed(list(rows))]


def effects_of(conn: sa.Connection, account: str, limit: int = 200) -> list[dict[str, Any]]:
    """What the journeys did to the account and its people (emails, tasks, campaigns,
    webhooks), oldest first."""
    rows = conn.execute(sa.select(t.effects).where(t.effects.c.account == account)
                        .order_by(t.effects.c.id.desc()).limit(limit))
    return [{"id": r.id, "channel": r.channel, "status": r.status, "journey": r.journey,
             "node": r.node, "person": r.person, "at": format_instant(as_utc(r.at)),
             "payload": dict(r.payload)} for r in reversed(list(rows))]


# -- JSON-ready documents (the API and `itinera accounts --json`) ------------------------------
def account_record(account: Account) -> dict[str, Any]:
    return {"id": account.id, "attributes": account.attributes, "csm": account.csm,
            "playbooks": account.playbooks, "moments": account.moments,
            "created_at": format_instant(account.created_at)}


def person_record(person: Person) -> dict[str, Any]:
    return {"id": person.id, "account": person.account, "email": person.email,
            "attributes": person.attributes, "score": person.score,
            "unsubscribed": person.unsubscribed}


def group_record(group: BuyingGroup) -> dict[str, Any]:
    return {"solution": group.solution, "template": group.template, "status": group.status,
            "members": [{"person": m.person, "role": m.role} for m in group.members],
            "engagement_score": group.engagement_score,
            "completeness_score": group.completeness_score}


def account_document(conn: sa.Connection, id: str) -> dict[str, Any] | None:
    """The account with its people, buying groups, segments and enrollments (the first
    ``ACCOUNT_ENROLLMENTS``, oldest first), or None when there is no such account."""
    view = account_view(conn, id)
    if view is None:
        return None
    return {**account_record(view.account),
            "people": [person_record(p) for p in view.people],
            "buying_groups": [group_record(g) for g in view.groups],
            "segments": view.segments,
            "enrollments": queries.enrollments(conn, account=id, limit=ACCOUNT_ENROLLMENTS)}


# -- the workspace's configuration ------------------------------------------------------------
def _config(conn: sa.Connection, kind: str) -> list[tuple[str, dict[str, Any]]]:
    rows = conn.execute(sa.select(t.config.c.id, t.config.c.body)
                        .where(t.config.c.kind == kind).order_by(t.config.c.seq))
    return [(r.id, dict(r.body)) for r in rows]


def templates(conn: sa.Connection) -> list[Template]:
    """The workspace's templates; ``approved`` as the engine decides it (under the approval
    workflow, an approved review of the template's content; otherwise the file's flag)."""
    reviewed = reviews.settings(conn).templates
    approved = reviews.approved_templates(conn) if reviewed else set()
    return [Template(id=id, subject=body.get("subject", ""), text=body.get("text", ""),
                     html=body.get("html"), preheader=body.get("preheader"),
                     approved=(id, content_hash("template", body)) in approved if reviewed
                     else bool(body.get("approved", True)))
            for id, body in _config(conn, "template")]


def csms(conn: sa.Connection) -> list[CSM]:
    return [CSM(id, body.get("name"), body.get("email")) for id, body in _config(conn, "csm")]
