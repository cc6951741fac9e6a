"""The timers of the SQL store: set, deleted, held, found due — from the table, or from an
index in memory when this store is the only writer (or holds the accounts concerned)."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from functools import lru_cache
from typing import Any

import sqlalchemy as sa

from itinera.errors import StoreError
from itinera.storage import schema as t
from itinera.storage.engine import json_text
from itinera.storage.sql_base import SqlBase, among
from itinera.storage.store import Timer
from itinera.storage.timer_index import TimerIndex
from itinera.timeutil import as_utc

__all__ = ["TimerRows"]


@lru_cache(maxsize=2)
def _timers_of_query(dialect: str) -> sa.Select[Any]:
    return sa.select(t.timers).where(among(t.timers.c.account, dialect)).order_by(t.timers.c.id)


class TimerRows(SqlBase):
    """The timer methods of the Store protocol."""

    # -- timers ---------------------------------------------------------------------------
    @staticmethod
    def _timer(row: Any) -> Timer:
        return Timer(id=row.id, due_at=as_utc(row.due_at), kind=row.kind, account=row.account,
                     enrollment=row.enrollment, token=row.token, journey=row.journey,
                     held=row.held, payload=dict(row.payload))

    def _timer_index(self) -> TimerIndex | None:
        if self._timers is not None and not self._timers.loaded:
            rows = self._exec(sa.select(t.timers).order_by(t.timers.c.id))
            self._timers.load([self._timer(r) for r in rows])
        return self._timers

    def scope_timers(self, accounts: Collection[str]) -> None:
        """Keep the timers of ``accounts`` in memory until the transaction ends.

        For a shared store whose transaction holds these accounts (``runtime.partition``): no
        one else changes their timers meanwhile, so questions about them are answered as an
        exclusive store answers all, without a query per timer. An exclusive store has every
        timer in memory already."""
        if self._timers is not None or not accounts:
            return
        ids = list(accounts)
        found: list[Timer] = []
        self._flush()
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            found += [self._timer(r) for r in self.conn.execute(
                _timers_of_query(self.dialect),
                {"ids": chunk if self.dialect == "postgresql" else json_text(chunk)})]
        index = TimerIndex()
        index.load(found)
        self._scoped, self._scope = index, frozenset(ids)

    def add_timer(self, timer: Timer) -> None:
        timer.id = self.next_value("seq:timer")
        index = self._timer_index()
        self._write("insert:timers", {
            "id": timer.id, "due_at": timer.due_at, "kind": timer.kind, "account": timer.account,
            "enrollment": timer.enrollment, "token": timer.token, "journey": timer.journey,
            "held": timer.held, "payload": timer.payload})
        if index is not None:
            index.add(timer)
        elif self._scoped is not None and timer.account in self._scope:
            self._scoped.add(timer)

    def delete_timers(self, *, enrollment: int | None = None, account: str | None = None,
                      kind: str | None = None, ids: Iterable[int] = ()) -> None:
        ids = list(ids)
        index = self._timer_index()
        if enrollment is None and account is None and kind is None:
            if not ids:
                raise StoreError("delete_timers needs a filter")
            if index is not None:  # the common case: a timer that fired, or was replaced
                for id in dict.fromkeys(ids):
                    if id in index:
                        index.remove(id)
                        self._write("delete:timers", {"k_id": id})
                return
        if index is None and self._scoped is not None and (
                account in self._scope or (ids and all(id in self._scoped for id in ids))):
            index = self._scoped
        if index is not None:
            for id in index.matching(enrollment, account, kind, ids):
                index.remove(id)
                self._write("delete:timers", {"k_id": id})
            return
        if self._scoped is not None:  # some outside the scope: the table decides, and the
            for id in self._scoped.matching(enrollment, account, kind, ids):  # scope follows
                self._scoped.remove(id)
        conditions: list[Any] = []
        if enrollment is not None:
            conditions.append(t.timers.c.enrollment == enrollment)
        if account is not None:
            conditions.append(t.timers.c.account == account)
        if kind is not None:
            conditions.append(t.timers.c.kind == kind)
        if ids:
            conditions.append(t.timers.c.id.in_(ids))
        self._exec(sa.delete(t.timers).where(*conditions))

    def timers_of(self, account: str, kind: str) -> list[Timer]:
        """The account's timers of ``kind``, in the order they were set."""
        index = self._timer_index()
        if index is None and self._scoped is not None and account in self._scope:
            index = self._scoped
        if index is not None:
            return index.of_account(account, kind)
        rows = self._exec(sa.select(t.timers).where(t.timers.c.account == account,
                                                    t.timers.c.kind == kind)
                          .order_by(t.timers.c.id))
        return [self._timer(r) for r in rows]

    def due_timers(self, until: datetime, limit: int,
                   accounts: Collection[str] | None = None) -> list[Timer]:
        """Timers not held, due at or before ``until``, in (due, set) order; with ``accounts``,
        only theirs (a worker fires the timers of the accounts it holds)."""
        index = self._timer_index()
        if index is not None and accounts is None:
            return index.due(until, limit)
        if (self._scoped is not None and accounts is not None and len(accounts) == len(self._scope)
                and self._scope.issuperset(accounts)):
            return self._scoped.due(until, limit)
        query = sa.select(t.timers).where(t.timers.c.due_at <= until, t.timers.c.held.is_(False))
        if accounts is not None:
            if not accounts:
                return []
            query = query.where(t.timers.c.account.in_(list(accounts)))
        rows = self._exec(query.order_by(t.timers.c.due_at, t.timers.c.id).limit(limit))
        return [self._timer(r) for r in rows]

    def hold_timer(self, id: int) -> None:
        index = self._timer_index()
        if index is not None:
            index.hold(id)
        elif self._scoped is not None:
            self._scoped.hold(id)
        self._write("update:timers", {"k_id": id, "held": True})

    def held_timers(self, journey: str) -> list[Timer]:
        index = self._timer_index()
        if index is not None:
            return index.held(journey)
        rows = self._exec(sa.select(t.timers).where(
            t.timers.c.journey == journey, t.timers.c.held.is_(True))
            .order_by(t.timers.c.due_at, t.timers.c.id))
        return [self._timer(r) for r in rows]

    def next_due(self) -> datetime | None:
        index = self._timer_index()
        if index is not None:
            return index.next_due()
        value = self._exec(sa.select(sa.func.min(t.timers.c.due_at))
                           .where(t.timers.c.held.is_(False))).scalar()
        return None if value is None else as_utc(value)
