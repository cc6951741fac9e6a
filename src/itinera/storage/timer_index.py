"""An in-memory mirror of the timers table, for a store that is the database's only writer.

It answers "what is due next" without a query per timer; the table stays the durable copy.
"""

from __future__ import annotations

import heapq
from datetime import datetime

from itinera.storage.store import Timer

__all__ = ["TimerIndex"]


class TimerIndex:
    def __init__(self) -> None:
        self.invalidate()

    def invalidate(self) -> None:
        """Forget everything (after a rollback); the next use reloads from the table."""
        self.loaded = False
        self._timers: dict[int, Timer] = {}
        self._heap: list[tuple[datetime, int]] = []
        self._by_enrollment: dict[int, set[int]] = {}
        self._by_account: dict[str, set[int]] = {}

    def load(self, timers: list[Timer]) -> None:
        self.invalidate()
        for timer in timers:
            self.add(timer)
        self.loaded = True

    def add(self, timer: Timer) -> None:
        self._timers[timer.id] = timer
        heapq.heappush(self._heap, (timer.due_at, timer.id))
        if timer.enrollment is not None:
            self._by_enrollment.setdefault(timer.enrollment, set()).add(timer.id)
        if timer.account is not None:
            self._by_account.setdefault(timer.account, set()).add(timer.id)

    def remove(self, id: int) -> None:
        timer = self._timers.pop(id, None)
        if timer is None:
            return
        if timer.enrollment is not None:
            of_enrollment = self._by_enrollment.get(timer.enrollment)
            if of_enrollment is not None:
                of_enrollment.discard(id)
        if timer.account is not None:
            of_account = self._by_account.get(timer.account)
            if of_account is not None:
                of_account.discard(id)

    def matching(self, enrollment: int | None, account: str | None, kind: str | None,
                 ids: list[int]) -> list[int]:
        if ids and enrollment is None and account is None and kind is None:
            return [i for i in dict.fromkeys(ids) if i in self._timers]
        if ids:
            candidates = {i for i in ids if i in self._timers}
        elif enrollment is not None:
            candidates = set(self._by_enrollment.get(enrollment, ()))
        elif account is not None:
            candidates = set(self._by_account.get(account, ()))
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
        ids = self._by_account.get(account)
        if not ids:
            return []
        timers = self._timers
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

    def held(self, journey: str) -> list[Timer]:
        return sorted((t for t in self._timers.values() if t.held and t.journey == journey),
                      key=lambda t: (t.due_at, t.id))

    def next_due(self) -> datetime | None:
        times = [t.due_at for t in self._timers.values() if not t.held]
        return min(times) if times else None
