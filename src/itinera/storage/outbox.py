"""The outbox as the dispatcher sees it — claiming effects due for delivery and recording the
outcome of each attempt — and as operators see it: deliveries listed by status (the dead letters
among them) and a dead one sent back for another round of attempts.

A claim marks effects ``sending`` with a lease (their ``next_attempt_at`` moves to the end of
the lease) and commits before anything is sent; a dispatcher that dies mid-delivery leaves them
to be claimed again when the lease ends. Several dispatchers share the work: on PostgreSQL the
claim skips rows another one has locked (``FOR UPDATE SKIP LOCKED``); SQLite serialises writers.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, NamedTuple

import sqlalchemy as sa

from itinera.jsonvalues import storable
from itinera.storage import schema as t
from itinera.storage.sql import SqlStore
from itinera.storage.store import Effect
from itinera.timeutil import as_utc, format_instant

__all__ = ["Outcome", "any_due", "claim", "counts", "deliveries", "delivery", "record", "record_all",
           "release", "retry", "unsubscribed"]

DUE_STATUSES = ("pending", "sending")  # "sending" rows are due again when their lease ends


class Outcome(NamedTuple):
    """An attempt's outcome, as :func:`record` takes it."""

    effect: int
    status: str
    error: str | None = None
    retry_at: datetime | None = None


_c = t.effects.c
# Built once: a busy dispatcher records hundreds of outcomes a second.
_RECORD = sa.update(t.effects).where(
    _c.id == sa.bindparam("o_id"), _c.status == "sending",
    _c.next_attempt_at == sa.bindparam("o_lease", type_=_c.next_attempt_at.type),
).values(status=sa.bindparam("o_status"), last_error=sa.bindparam("o_error"),
         next_attempt_at=sa.bindparam("o_retry", type_=_c.next_attempt_at.type),
         delivered_at=sa.bindparam("o_delivered", type_=_c.delivered_at.type))


_DUE = sa.and_(_c.status.in_(DUE_STATUSES),
               _c.next_attempt_at <= sa.bindparam("o_now", type_=_c.next_attempt_at.type))
_ANY_DUE = sa.select(_c.id).where(_DUE).limit(1)
_TAKE = sa.update(t.effects).where(_c.id.in_(sa.bindparam("o_ids", expanding=True))).values(
    status="sending", attempts=_c.attempts + 1,
    next_attempt_at=sa.bindparam("o_lease_end", type_=_c.next_attempt_at.type))


@lru_cache(maxsize=8)
def _due_query(limit: int, dialect: str) -> sa.Select[Any]:
    """The claim's select, built once per limit and dialect."""
    query = sa.select(t.effects).where(_DUE).order_by(_c.next_attempt_at, _c.id).limit(limit)
    # On PostgreSQL other dispatchers' claims are skipped, not waited for; SQLite serialises.
    return query.with_for_update(skip_locked=True) if dialect == "postgresql" else query


def claim(store: SqlStore, now: datetime, limit: int,
          lease: timedelta) -> list[tuple[Effect, int]]:
    """Take up to ``limit`` effects due at ``now``, oldest first, for one delivery attempt;
    each with the number of this attempt."""
    rows = list(store.conn.execute(_due_query(limit, store.dialect), {"o_now": now}))
    if not rows:
        return []
    store.conn.execute(_TAKE, {"o_ids": [r.id for r in rows], "o_lease_end": now + lease})
    return [(Effect(key=r.key, channel=r.channel, status="sending", at=as_utc(r.at),
                    journey=r.journey, node=r.node, account=r.account, person=r.person,
                    payload=dict(r.payload), id=r.id), r.attempts + 1) for r in rows]


def any_due(connection: sa.Connection, now: datetime) -> bool:
    """Whether an effect is due at ``now`` — a read, for a dispatcher to look often without
    taking the write lock."""
    return connection.execute(_ANY_DUE, {"o_now": now}).first() is not None


def record(store: SqlStore, effect_id: int, status: str, now: datetime, *, lease_end: datetime,
           error: str | None = None, retry_at: datetime | None = None) -> bool:
    """The outcome of an attempt: ``delivered``, ``skipped``, ``pending`` (retry at
    ``retry_at``) or ``dead`` (given up, kept for inspection) — only while the claim that ends
    at ``lease_end`` still holds the effect: a dispatcher that overran its lease (and whose
    effect another has claimed since) records nothing. Whether it was recorded."""
    outcome = Outcome(effect_id, status, error, retry_at)
    return bool(store.conn.execute(_RECORD, _recorded(outcome, now, lease_end)).rowcount)


def record_all(store: SqlStore, outcomes: list[Outcome], now: datetime,
               lease_end: datetime) -> None:
    """:func:`record` for many outcomes of one claim, in one statement sent as a batch."""
    if outcomes:
        store.conn.execute(_RECORD, [_recorded(o, now, lease_end) for o in outcomes])


def _recorded(outcome: Outcome, now: datetime, lease_end: datetime) -> dict[str, Any]:
    # The error is the other side's words (an HTTP body's start, an SMTP reply): a NUL in
    # them, which PostgreSQL's text refuses, would fail the record at every try.
    return {"o_id": outcome.effect, "o_lease": lease_end, "o_status": outcome.status,
            "o_error": None if outcome.error is None else storable(outcome.error),
            "o_retry": outcome.retry_at,
            "o_delivered": now if outcome.status == "delivered" else None}


def release(store: SqlStore, effect_ids: list[int], lease_end: datetime, now: datetime) -> None:
    """Give back claimed effects not tried (the claim ran late): due now, for any dispatcher;
    the attempt they were counted is taken back."""
    if effect_ids:
        store.conn.execute(sa.update(t.effects).where(
            t.effects.c.id.in_(effect_ids), t.effects.c.status == "sending",
            t.effects.c.next_attempt_at == lease_end).values(
            status="pending", next_attempt_at=now, attempts=t.effects.c.attempts - 1))


def unsubscribed(store: SqlStore, people: set[str]) -> set[str]:
    """Those of ``people`` who unsubscribed."""
    if not people:
        return set()
    return set(store.conn.execute(sa.select(t.people.c.id).where(
        t.people.c.id.in_(sorted(people)), t.people.c.unsubscribed.is_(True))).scalars())


def counts(store: SqlStore) -> dict[str, int]:
    """How many effects are in each delivery status (for health and the API)."""
    rows = store.conn.execute(sa.select(t.effects.c.status, sa.func.count().label("n"))
                              .group_by(t.effects.c.status))
    return {row.status: int(row.n) for row in rows}


def _delivery(row: Any, full: bool = False) -> dict[str, Any]:
    payload = dict(row.payload)
    found = {
        "id": row.id, "key": row.key, "channel": row.channel, "status": row.status,
        "journey": row.journey, "node": row.node, "account": row.account, "person": row.person,
        "at": format_instant(as_utc(row.at)), "attempts": row.attempts,
        "next_attempt_at": _instant(row.next_attempt_at), "last_error": row.last_error,
        "delivered_at": _instant(row.delivered_at),
        # Why it was skipped: decided so (the payload's reason), or at dispatch (suppressed).
        "reason": payload.get("reason") or (row.last_error if row.status == "skipped" else None),
        # What it is, in a word: whom or where it goes to.
        "target": payload.get("to") or payload.get("url") or payload.get("campaign")
        or payload.get("assignee")}
    if full:
        found["payload"] = payload
    return found


def _instant(value: datetime | None) -> str | None:
    return None if value is None else format_instant(as_utc(value))


def deliveries(conn: sa.Connection, *, status: str | None = None, channel: str | None = None,
               account: str | None = None, journey: str | None = None, limit: int = 100,
               after: int | None = None) -> list[dict[str, Any]]:
    """Effects matching every filter given, by id (those after ``after``)."""
    c = t.effects.c
    query = sa.select(t.effects).order_by(c.id).limit(limit)
    for column, value in ((c.status, status), (c.channel, channel), (c.account, account),
                          (c.journey, journey)):
        if value is not None:
            query = query.where(column == value)
    if after is not None:
        query = query.where(c.id > after)
    return [_delivery(row) for row in conn.execute(query)]


def delivery(conn: sa.Connection, id: int) -> dict[str, Any] | None:
    """One effect with its whole payload (the email's subject and text, the webhook's body)."""
    row = conn.execute(sa.select(t.effects).where(t.effects.c.id == id)).first()
    return None if row is None else _delivery(row, full=True)


def retry(conn: sa.Connection, id: int, now: datetime) -> dict[str, Any] | None:
    """Send a dead effect back to ``pending``, due now, with a fresh count of attempts (its
    last error is kept until the next attempt). None when there is no dead effect ``id``."""
    done = conn.execute(sa.update(t.effects).where(t.effects.c.id == id,
                                                   t.effects.c.status == "dead")
                        .values(status="pending", attempts=0, next_attempt_at=now))
    return delivery(conn, id) if done.rowcount else None
