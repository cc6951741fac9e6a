"""The inbox: inputs the service has durably received and a worker has not yet applied; and
the journal: the inputs applied, kept in arrival order as the store's history.

Rows keep arrival order (``seq``); a row's ``key`` (an event id, a Segment messageId) makes a
repeat a no-op. Receiving commits the row before the sender is answered; applying it and moving
it to the journal (``settle``) happen in the worker's step transaction, so an input is applied
exactly once and the journal holds exactly the inputs that were applied. The journal is
append-only: ``itinera backtest`` replays it (``simulate.backtest``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from itinera.storage import schema as t
from itinera.storage.engine import json_text
from itinera.storage.sql import SqlStore
from itinera.timeutil import as_utc

__all__ = ["InboxRow", "JournalEntry", "journal", "pending_count", "put", "put_rows", "reject",
           "settle", "take", "take_keys", "take_round"]


@dataclass(frozen=True)
class InboxRow:
    seq: int
    kind: str
    account: str | None
    key: str | None
    payload: Any  # the body of the input: a mapping, or a journey id for lifecycle commands
    received_at: datetime


@dataclass(frozen=True)
class JournalEntry:
    seq: int  # the inbox seq: arrival order
    kind: str
    payload: Any
    received_at: datetime
    applied_at: datetime


def put(store: SqlStore, rows: list[dict[str, Any]]) -> None:
    """:func:`put_rows` on the store's connection."""
    put_rows(store.conn, rows)


def put_rows(connection: sa.Connection, rows: list[dict[str, Any]]) -> None:
    """Add rows (kind, account, key, payload, received_at); a row whose key was ever received
    is ignored, however long ago (the keys are kept in ``received``)."""
    postgres = connection.dialect.name == "postgresql"
    if postgres and rows:
        # Requests are received in parallel; their rows take their seq (arrival order) here.
        # One at a time from here to commit, so that seq order is commit order: a worker never
        # applies seq 12 while 11, committed later, is still to come. (SQLite's writers are
        # one at a time already.) The checks before this run in parallel.
        connection.execute(sa.text(
            "SELECT pg_advisory_xact_lock(hashtext(current_schema() || '/itinera:inbox'))"))
    fresh = {row["key"]: row["received_at"] for row in rows if row.get("key") is not None}
    if fresh:
        taken = take_keys(connection, fresh)
        rows = [row for row in rows if row.get("key") is None or row["key"] in taken]
    if rows:
        insert = postgresql.insert if postgres else sqlite.insert
        connection.execute(insert(t.inbox).on_conflict_do_nothing(), rows)


def take_keys(connection: sa.Connection, keys: dict[str, datetime]) -> set[str]:
    """Record idempotency keys (each with when it came) in ``received``; which of them were
    new (a key received before, however long ago, is not)."""
    if not keys:
        return set()
    known = set(connection.execute(sa.select(t.received.c.key).where(
        t.received.c.key.in_(list(keys)))).scalars())
    fresh = sorted(k for k in keys if k not in known)
    if not fresh:
        return set()
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    # Two requests may race with one key: the second insert finds the first's row
    # (PostgreSQL waits for its transaction) and leaves it out.
    return set(connection.execute(  # in key order: no deadlock between two requests
        insert(t.received).on_conflict_do_nothing().returning(t.received.c.key),
        [{"key": k, "received_at": keys[k]} for k in fresh]).scalars().all())


@lru_cache(maxsize=8)
def _take_query(limit: int) -> sa.Select[Any]:
    """Built once per limit: a worker takes every round."""
    return sa.select(t.inbox).order_by(t.inbox.c.seq).limit(limit)


@lru_cache(maxsize=8)
def _round_query(limit: int) -> sa.Select[Any]:
    """``_take_query`` with, in the same round trip, whether each event's id is stored and
    the configuration's version: what a lone worker's round reads next."""
    i = t.inbox
    known = sa.exists().where(t.events.c.id == i.c.payload["id"].as_string())
    version = (sa.select(t.counters.c.value).where(t.counters.c.key == "config:version")
               .scalar_subquery())
    return (sa.select(i, sa.case((i.c.kind == "event", known), else_=sa.false())
                      .label("known_event"), version.label("config_version"))
            .order_by(i.c.seq).limit(limit))


def take_round(store: SqlStore, limit: int) -> list[InboxRow]:
    """:func:`take`, telling ``store`` (in its transaction) whether the events' ids are stored
    and the configuration's version, read in the same statement."""
    rows = []
    found: dict[str, bool] = {}
    for r in store.conn.execute(_round_query(limit)):
        rows.append(InboxRow(r.seq, r.kind, r.account, r.key, r.payload, as_utc(r.received_at)))
        if r.kind == "event" and isinstance(r.payload, dict) and r.payload.get("id"):
            found[r.payload["id"]] = bool(r.known_event)
        store.note_counter("config:version", int(r.config_version or 0))
    store.note_events(found)
    return rows


def take(store: SqlStore, limit: int) -> list[InboxRow]:
    """The oldest rows, in arrival order (the caller applies and removes them)."""
    result = store.conn.execute(_take_query(limit))
    return [InboxRow(r.seq, r.kind, r.account, r.key, r.payload, as_utc(r.received_at))
            for r in result]


@lru_cache(maxsize=2)
def _settle_statements(dialect: str) -> tuple[Any, ...]:
    """Built once per dialect, the seqs bound as one parameter. PostgreSQL moves the rows in
    one statement (a ``DELETE … RETURNING`` feeding the insert); SQLite, which has no
    data-modifying ``WITH``, copies them and then deletes them."""
    columns = "seq, kind, account, key, payload, received_at"
    applied = sa.bindparam("applied", type_=t.journal.c.applied_at.type)
    if dialect == "postgresql":
        return (sa.text(
            f"WITH moved AS (DELETE FROM inbox WHERE seq = ANY(:seqs) RETURNING {columns}) "
            f"INSERT INTO journal ({columns}, applied_at) SELECT {columns}, :applied FROM moved"
        ).bindparams(applied, sa.bindparam("seqs", type_=postgresql.ARRAY(sa.Integer))),)
    listed = "(SELECT value FROM json_each(:seqs))"
    return (sa.text(f"INSERT INTO journal ({columns}, applied_at) SELECT {columns}, :applied "
                    f"FROM inbox WHERE seq IN {listed}").bindparams(applied),
            sa.text(f"DELETE FROM inbox WHERE seq IN {listed}"))


def settle(store: SqlStore, seqs: list[int], applied_at: datetime) -> None:
    """The rows ``seqs`` were applied (at the worker's ``applied_at``): move them from the inbox
    to the journal, in the caller's transaction — both happen, or neither."""
    if not seqs:
        return
    params = {"seqs": seqs if store.dialect == "postgresql" else json_text(seqs),
              "applied": applied_at}
    for statement in _settle_statements(store.dialect):
        store.conn.execute(statement, params)


def reject(store: SqlStore, seq: int, reason: str, now: datetime) -> bool:
    """Move the row ``seq``, which the worker could not apply, to the rejected messages (source
    ``worker``) with the reason; whether it was still there (another worker may have done it)."""
    gone = store.conn.execute(sa.delete(t.inbox).where(t.inbox.c.seq == seq).returning(
        t.inbox.c.kind, t.inbox.c.payload)).first()
    if gone is None:
        return False
    store.conn.execute(sa.insert(t.rejected).values(
        source="worker", reason=reason, payload={gone.kind: gone.payload}, received_at=now))
    return True


def journal(connection: sa.Connection, before: datetime) -> list[JournalEntry]:
    """The inputs received before ``before``, in arrival order (SELECT only)."""
    rows = connection.execute(sa.select(t.journal).where(t.journal.c.received_at < before)
                              .order_by(t.journal.c.seq))
    return [JournalEntry(r.seq, r.kind, r.payload, as_utc(r.received_at), as_utc(r.applied_at))
            for r in rows]


def pending_count(store: SqlStore) -> int:
    return int(store.conn.execute(sa.select(sa.func.count()).select_from(t.inbox)).scalar() or 0)
