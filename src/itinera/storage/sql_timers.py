"""The timers of the SQL store: set, deleted, held, found due — from the table, or from an
index in memory when this store is the only writer (or holds the accounts concerned).

The only writer's index mirrors a window of the table: the :data:`WINDOW` timers due soonest
that are not held. Timers beyond it, and held ones (of paused journeys), stay in the table only,
and questions that may concern them (an account's timers, a filtered delete, held timers) ask
the table too, with its indexes; when the window runs out the next one is loaded. So a lone
worker's memory does not grow with the number of parked enrollments.
"""

from __future__ import annotations

import sys
from collections.abc import Collection, Iterable
from datetime import UTC, datetime
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

__all__ = ["WINDOW", "TimerRows"]

_END_OF_TIME = datetime.max.replace(tzinfo=UTC)
WINDOW = 10_000  # timers the only writer keeps in memory: those due soonest (it trims at twice)
_c = t.timers.c


def _before(horizon: tuple[datetime, int]) -> sa.ColumnElement[bool]:
    """Timers ordered before ``horizon`` (due_at, then id)."""
    due_at, id = horizon
    return sa.or_(_c.due_at < due_at, sa.and_(_c.due_at == due_at, _c.id < id))


def _outside(horizon: tuple[datetime, int] | None) -> sa.ColumnElement[bool]:
    """Timers the window does not hold: held ones, and those from ``horizon`` on."""
    if horizon is None:
        return _c.held.is_(True)
    return sa.or_(_c.held.is_(True), sa.not_(_before(horizon)))


@lru_cache(maxsize=2)
def _timers_of_query(dialect: str) -> sa.Select[Any]:
    return sa.select(t.timers).where(among(t.timers.c.account, dialect)).order_by(t.timers.c.id)


class TimerRows(SqlBase):
    """The timer methods of the Store protocol."""

    # Whether the table may hold timers the window does not (held ones, later ones): only then
    # do questions about an account's timers, or filtered deletes, go to the table as well.
    _outside_window = False

    # -- timers ---------------------------------------------------------------------------
    @staticmethod
    def _timer(row: Any) -> Timer:
        # Kinds and journey ids repeat across thousands of timers: one string each.
        return Timer(id=row.id, due_at=as_utc(row.due_at), kind=sys.intern(row.kind),
                     account=row.account, enrollment=row.enrollment, token=row.token,
                     journey=None if row.journey is None else sys.intern(row.journey),
                     held=row.held, payload=dict(row.payload))

    def _timer_index(self) -> TimerIndex | None:
        if self._timers is not None and not self._timers.loaded:
            self._load_window(self._timers)
        return self._timers

    def _load_window(self, index: TimerIndex) -> None:
        """Mirror the :data:`WINDOW` timers due soonest, not held, in ``index``."""
        waiting = sa.select(_c.due_at, _c.id).where(_c.held.is_(False))
        first_out = self._exec(waiting.order_by(_c.due_at, _c.id).offset(WINDOW).limit(1)).first()
        horizon = None if first_out is None else (as_utc(first_out.due_at), int(first_out.id))
        query = sa.select(t.timers).where(_c.held.is_(False))
        if horizon is not None:
            query = query.where(_before(horizon))
        index.load([self._timer(r) for r in self._exec(query.order_by(_c.id))], horizon)
        self._outside_window = horizon is not None or self._exec(
            sa.select(_c.id).where(_c.held.is_(True)).limit(1)).first() is not None

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
            if timer.held or not index.covers(timer):
                self._outside_window = True
            else:
                index.add(timer)
                if len(index) > 2 * WINDOW and index.trim(WINDOW):
                    self._outside_window = True
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
                    elif self._outside_window:  # perhaps one beyond the window, or held
                        self._write("delete:timers", {"k_id": id})
                return
        conditions: list[Any] = []
        if enrollment is not None:
            conditions.append(_c.enrollment == enrollment)
        if account is not None:
            conditions.append(_c.account == account)
        if kind is not None:
            conditions.append(_c.kind == kind)
        if ids:
            conditions.append(_c.id.in_(ids))
        if index is not None:
            for id in index.matching(enrollment, account, kind, ids):
                index.remove(id)
                self._write("delete:timers", {"k_id": id})
            if self._outside_window:
                self._exec(sa.delete(t.timers).where(*conditions, _outside(index.horizon)))
            return
        if self._scoped is not None and (
                account in self._scope or (ids and all(id in self._scoped for id in ids))):
            for id in self._scoped.matching(enrollment, account, kind, ids):
                self._scoped.remove(id)
                self._write("delete:timers", {"k_id": id})
            return
        if self._scoped is not None:  # some outside the scope: the table decides, and the
            for id in self._scoped.matching(enrollment, account, kind, ids):  # scope follows
                self._scoped.remove(id)
        self._exec(sa.delete(t.timers).where(*conditions))

    def timers_of(self, account: str, kind: str) -> list[Timer]:
        """The account's timers of ``kind``, in the order they were set."""
        index = self._timer_index()
        if index is None and self._scoped is not None and account in self._scope:
            return self._scoped.of_account(account, kind)
        if index is not None:
            found = index.of_account(account, kind)
            if not self._outside_window:  # the common case: no statement to build
                return found
            query = sa.select(t.timers).where(_c.account == account, _c.kind == kind)
            outside = self._exec(query.where(_outside(index.horizon)))
            return sorted(found + [self._timer(r) for r in outside], key=lambda timer: timer.id)
        query = sa.select(t.timers).where(_c.account == account, _c.kind == kind)
        return [self._timer(r) for r in self._exec(query.order_by(_c.id))]

    def due_timers(self, until: datetime, limit: int,
                   accounts: Collection[str] | None = None) -> list[Timer]:
        """Timers not held, due at or before ``until``, in (due, set) order; with ``accounts``,
        only theirs (a worker fires the timers of the accounts it holds)."""
        index = self._timer_index()
        if index is not None and accounts is None:
            found = index.due(until, limit)
            if len(found) == limit or index.horizon is None or until < index.horizon[0]:
                return found
            # Every timer of the window is due, and fewer than asked: the window ran out.
            self._load_window(index)
            found = index.due(until, limit)
            if len(found) == limit or index.horizon is None or until < index.horizon[0]:
                return found
            # More asked for than a window holds: the table answers.
        elif (self._scoped is not None and accounts is not None and len(accounts) == len(self._scope)
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
        if index is not None:  # held timers stay in the table only, until the journey resumes
            index.remove(id)
            self._outside_window = True
        elif self._scoped is not None:
            self._scoped.hold(id)
        self._write("update:timers", {"k_id": id, "held": True})

    def held_timers(self, journey: str) -> list[Timer]:
        rows = self._exec(sa.select(t.timers).where(
            t.timers.c.journey == journey, t.timers.c.held.is_(True))
            .order_by(t.timers.c.due_at, t.timers.c.id))
        return [self._timer(r) for r in rows]

    def next_due(self) -> datetime | None:
        index = self._timer_index()
        if index is not None:
            first = self.due_timers(_END_OF_TIME, 1)
            return first[0].due_at if first else None
        value = self._exec(sa.select(sa.func.min(t.timers.c.due_at))
                           .where(t.timers.c.held.is_(False))).scalar()
        return None if value is None else as_utc(value)
