"""The inbox: inputs the service has durably received and a worker has not yet applied.

Rows keep arrival order (``seq``); a row's ``key`` (an event id, a Segment messageId) makes a
repeat a no-op. Receiving commits the row before the sender is answered; applying it and
deleting it happen in the worker's step transaction, so an input is applied exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from itinera.storage import schema as t
from itinera.storage.sql import SqlStore
from itinera.timeutil import as_utc

__all__ = ["InboxRow", "pending_count", "put", "remove", "take"]


@dataclass(frozen=True)
class InboxRow:
    seq: int
    kind: str
    account: str | None
    key: str | None
    payload: Any  # the body of the input: a mapping, or a journey id for lifecycle commands
    received_at: datetime


def put(store: SqlStore, rows: list[dict[str, Any]]) -> None:
    """Add rows (kind, account, key, payload, received_at); a row whose key was ever received
    is ignored, however long ago (the keys are kept in ``received``)."""
    keys = [row["key"] for row in rows if row.get("key") is not None]
    if keys:
        known = set(store.conn.execute(sa.select(t.received.c.key).where(
            t.received.c.key.in_(keys))).scalars())
        rows = [row for row in rows if row.get("key") is None or row["key"] not in known]
        fresh = {row["key"]: row["received_at"] for row in rows if row.get("key") is not None}
        if fresh:
            insert = _dialect_insert(store)(t.received)
            store.conn.execute(insert.on_conflict_do_nothing(),
                               [{"key": k, "received_at": at} for k, at in fresh.items()])
    if rows:
        store.conn.execute(_dialect_insert(store)(t.inbox).on_conflict_do_nothing(), rows)


def _dialect_insert(store: SqlStore) -> Any:
    return postgresql.insert if store.dialect == "postgresql" else sqlite.insert


def take(store: SqlStore, limit: int) -> list[InboxRow]:
    """The oldest rows, in arrival order (the caller applies and removes them)."""
    result = store.conn.execute(sa.select(t.inbox).order_by(t.inbox.c.seq).limit(limit))
    return [InboxRow(r.seq, r.kind, r.account, r.key, r.payload, as_utc(r.received_at))
            for r in result]


def remove(store: SqlStore, seqs: list[int]) -> None:
    if seqs:
        store.conn.execute(sa.delete(t.inbox).where(t.inbox.c.seq.in_(seqs)))


def pending_count(store: SqlStore) -> int:
    return int(store.conn.execute(sa.select(sa.func.count()).select_from(t.inbox)).scalar() or 0)
