"""An in-memory mirror of the timers table, for a store that is the database's only writer.

It answers "what is due next" without a query per timer; the table stays the durable copy. It
mirrors a window, not the whole table: the timers due soonest, up to its ``horizon`` (a
``(due_at, id)`` pair; None: every timer), so memory does not grow with the number of parked
enrollments — a million accounts waiting 30 days keep only the first few thousand of their
timers in memory. The store keeps the rest in the table and loads the next window when this
one runs out (``storage.sql_timers``).
"""

from __future__ import annotations

import heapq
from datetime import datetime
from typing import TypeVar

from itinera.storage.store import Timer

__all__ = ["TimerIndex"]

_K = TypeVar("_K", int, str)


class TimerIndex:
    def __init__(self) -> None:
        self.invalidate()

    def invalidate(self) -> None:
        """Forget everything (after a rollback); the next use reloads from the table."""
        self.loaded = False
        self.horizon: tuple[datetime, int] | None = None
        self._timers: dict[int, Timer] = {}
        self._heap: list[tuple[datetime, int]] = []
        # An enrollment or account with one timer (most) maps to its id, not to a set of one:
        # a set costs about 200 bytes, and a worker keeps thousands.
        self._by_enrollment: dict[int, int | set[int]] = {}
        self._by_account: dict[str, int | set[int]] = {}

    def load(self, timers: list[Timer], horizon: tuple[datetime, int] | None = None) -> None:
        """Mirror ``timers``: every timer before ``horizon`` (all of them when None)."""
        self.invalidate()
        for timer in timers:
            self.add(timer)
        self.horizon = horizon
        self.loaded = True

    def covers(self, timer: Timer) -> bool:
        """Whether ``timer`` falls within the window (so belongs in memory)."""
        return self.horizon is None or (timer.due_at, timer.id) < self.horizon

    def __len__(self) -> int:
        return len(self._timers)

    def trim(self, keep: int) -> int:
        """Keep only the ``keep`` timers due soonest: the horizon moves to the first one
        dropped. How many were dropped (they stay in the table)."""
        if len(self._timers) <= keep:
            return 0
        order = sorted(self._timers.values(), key=lambda t: (t.due_at, t.id))
        for timer in order[keep:]:
            self.remove(timer.id)
        self.horizon = (order[keep].due_at, order[keep].id)
        self._heap = [(t.due_at, t.id) for t in order[:keep]]  # sorted: a heap already
        return len(order) - keep

    def add(self, timer: Timer) -> None:
        self._timers[timer.id] = timer
        heapq.heappush(self._heap, (timer.due_at, timer.id))
        if timer.enrollment is not None:
            _link(self._by_enrollment, timer.enrollment, timer.id)
        if timer.account is not None:
            _link(self._by_account, timer.account, timer.id)

    def remove(self, id: int) -> None:
        timer = self._timers.pop(id, None)
        if timer is None:
            return
        # The due order drops removed timers lazily, when they reach its top: one replaced
        # again and again (an account's re-evaluation) would leave an entry per replacement
        # until its instant came. Rebuilt once mostly such entries: memory follows the timers.
        if len(self._heap) > 2 * len(self._timers) + 64:
            self._heap = [(t.due_at, t.id) for t in self._timers.values()]
            heapq.heapify(self._heap)
        if timer.enrollment is not None:
            _unlink(self._by_enrollment, timer.enrollment, id)
        if timer.account is not None:
            _unlink(self._by_account, timer.account, id)

    def matching(self, enrollment: int | None, account: str | None, kind: str | None,
                 ids: list[int]) -> list[int]:
        if ids and enrollment is None and account is None and kind is None:
            return [i for i in dict.fromkeys(ids) if i in self._timers]
        if ids:
            candidates = {i for i in ids if i in self._timers}
        elif enrollment is not None:
            candidates = _ids(self._by_enrollment, enrollment)
        elif account is not None:
            candidates = _ids(self._by_account, account)
        else:
            candidates = set(self._timers)
        found = []
        for id in sorted(candidates):
            timer = self._timers[id]
            if ((enrollment is None or timer.enrollment == enrollment)
                    and (account is None or timer.account == account)
                    and (kind is None or timer.kind == kind)):
                found.append(id)
        return found

    def of_account(self, account: str, kind: str) -> list[Timer]:
        """The account's timers of ``kind``, in the order they were set."""
        ids = self._by_account.get(account)  # called at every step: no copy
        if ids is None:
            return []
        timers = self._timers
        if isinstance(ids, int):
            return [timers[ids]] if timers[ids].kind == kind else []
        return [timers[i] for i in sorted(ids) if timers[i].kind == kind]

    def __contains__(self, id: int) -> bool:
        return id in self._timers

    def hold(self, id: int) -> None:
        if id in self._timers:
            self._timers[id].held = True

    def due(self, until: datetime, limit: int) -> list[Timer]:
        """The first ``limit`` timers not held, due at or before ``until``, in (due, id) order."""
        while self._heap:  # the common question, "the next one?", answered from the top
            due_at, id = self._heap[0]
            first = self._timers.get(id)
            if first is None or first.due_at != due_at:
                heapq.heappop(self._heap)  # removed: drop lazily
                continue
            if due_at > until:
                return []
            if limit == 1 and not first.held:
                return [first]
            break
        result: list[Timer] = []
        skipped: list[tuple[datetime, int]] = []
        while self._heap and len(result) < limit:
            due_at, id = self._heap[0]
            timer = self._timers.get(id)
            if timer is None or timer.due_at != due_at:
                heapq.heappop(self._heap)  # removed: drop lazily
                continue
            if due_at > until:
                break
            entry = heapq.heappop(self._heap)
            skipped.append(entry)
            if not timer.held:
                result.append(timer)
        for entry in skipped:
            heapq.heappush(self._heap, entry)
        return result


def _link(ids_of: dict[_K, int | set[int]], key: _K, id: int) -> None:
    found = ids_of.get(key)
    if found is None:
        ids_of[key] = id
    elif isinstance(found, int):
        if found != id:
            ids_of[key] = {found, id}
    else:
        found.add(id)


def _unlink(ids_of: dict[_K, int | set[int]], key: _K, id: int) -> None:
    """Forget ``id`` under ``key``; a key left with none goes too (accounts come and go, and
    memory must not keep them all)."""
    found = ids_of.get(key)
    if found is None:
        return
    if isinstance(found, int):
        if found == id:
            del ids_of[key]
        return
    found.discard(id)
    if len(found) == 1:
        ids_of[key] = next(iter(found))
    elif not found:
        del ids_of[key]


def _ids(ids_of: dict[_K, int | set[int]], key: _K) -> set[int]:
    found = ids_of.get(key)
    if found is None:
        return set()
    return {found} if isinstance(found, int) else set(found)
