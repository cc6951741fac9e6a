"""The outbox as the dispatcher sees it: claiming effects due for delivery and recording the
outcome of each attempt.

A claim marks effects ``sending`` with a lease (their ``next_attempt_at`` moves to the end of
the lease) and commits before anything is sent; a dispatcher that dies mid-delivery leaves them
to be claimed again when the lease ends. Several dispatchers share the work: on PostgreSQL the
claim skips rows another one has locked (``FOR UPDATE SKIP LOCKED``); SQLite serialises writers.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from itinera.storage import schema as t
from itinera.storage.sql import SqlStore
from itinera.storage.store import Effect
from itinera.timeutil import as_utc

__all__ = ["claim", "counts", "record"]

DUE_STATUSES = ("pending", "sending")  # "sending" rows are due again when their lease ends


def claim(store: SqlStore, now: datetime, limit: int,
          lease: timedelta) -> list[tuple[Effect, int]]:
    """Take up to ``limit`` effects due at ``now``, oldest first, for one delivery attempt;
    each with the number of this attempt."""
    query = (sa.select(t.effects)
             .where(t.effects.c.status.in_(DUE_STATUSES), t.effects.c.next_attempt_at <= now)
             .order_by(t.effects.c.next_attempt_at, t.effects.c.id).limit(limit))
    if store.dialect == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list(store.conn.execute(query))
    if not rows:
        return []
    store.conn.execute(
        sa.update(t.effects).where(t.effects.c.id.in_([r.id for r in rows]))
        .values(status="sending", attempts=t.effects.c.attempts + 1,
                next_attempt_at=now + lease))
    return [(Effect(key=r.key, channel=r.channel, status="sending", at=as_utc(r.at),
                    journey=r.journey, node=r.node, account=r.account, person=r.person,
                    payload=dict(r.payload), id=r.id), r.attempts + 1) for r in rows]


def record(store: SqlStore, effect_id: int, status: str, now: datetime, *,
           error: str | None = None, retry_at: datetime | None = None) -> None:
    """The outcome of an attempt: ``delivered``, ``skipped``, ``pending`` (retry at
    ``retry_at``) or ``dead`` (given up, kept for inspection)."""
    values: dict[str, Any] = {"status": status, "last_error": error,
                              "next_attempt_at": retry_at}
    if status == "delivered":
        values["delivered_at"] = now
    store.conn.execute(sa.update(t.effects).where(t.effects.c.id == effect_id).values(**values))


def counts(store: SqlStore) -> dict[str, int]:
    """How many effects are in each delivery status (for health and the API)."""
    rows = store.conn.execute(sa.select(t.effects.c.status, sa.func.count().label("n"))
                              .group_by(t.effects.c.status))
    return {row.status: int(row.n) for row in rows}
