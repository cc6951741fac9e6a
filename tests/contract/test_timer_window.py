"""The only writer keeps a window of the timers in memory (``storage.sql_timers.WINDOW``): with a
window of three, every question about timers — due ones, an account's, held ones, the next
instant — gets the answer the table itself gives (a shared store, which asks the table every
time), over random sequences of sets, deletes, holds, firings and rollbacks, on both backends.
And memory holds the window, not every timer."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from itinera.storage import sql_timers
from itinera.storage.sql import SqlStore
from itinera.storage.store import Timer

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)
ACCOUNTS = ["a", "b", "c", "d"]


def _same(found: list[Timer]) -> list[tuple[object, ...]]:
    return [(t.id, t.due_at, t.kind, t.account, t.enrollment, t.journey, t.held) for t in found]


class _Rollback(Exception):
    pass


@pytest.mark.parametrize("seed", range(6))
def test_a_windowed_store_answers_as_the_table_does(database_url: str, seed: int,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sql_timers, "WINDOW", 3)
    windowed = SqlStore(database_url, exclusive=True)
    table = SqlStore(database_url, exclusive=False)  # the same database, read afresh each time
    rng = random.Random(seed)
    ids: list[int] = []
    try:
        for _ in range(25):  # transactions
            committed = len(ids)
            try:
                with windowed.transaction():
                    for _ in range(rng.randint(1, 12)):
                        _operate(windowed, rng, ids)
                    if rng.random() < 0.15:
                        raise _Rollback
            except _Rollback:  # the ids it set are free again, as the engine forgets them
                del ids[committed:]
            until = T0 + timedelta(hours=rng.randint(0, 200))
            assert _answers(windowed, until) == _answers(table, until)
            index = windowed._timers
            assert index is not None and len(index) <= 2 * 3
    finally:
        windowed.close()
        table.close()


def _answers(store: SqlStore, until: datetime) -> list[object]:
    with store.transaction():
        found: list[object] = [_same(store.due_timers(until, limit)) for limit in (1, 2, 50)]
        found += [_same(store.timers_of(account, kind)) for account in ACCOUNTS
                  for kind in ("wake", "reeval")]
        return [*found, _same(store.held_timers("j")), store.next_due()]


def _operate(store: SqlStore, rng: random.Random, ids: list[int]) -> None:
    choice = rng.random()
    account = rng.choice(ACCOUNTS)
    if choice < 0.45 or not ids:
        timer = Timer(id=0, due_at=T0 + timedelta(hours=rng.choice([1, 5, 5, 24, 72, 150])),
                      kind=rng.choice(["wake", "reeval"]), account=account,
                      enrollment=ACCOUNTS.index(account), token=1, journey="j")
        store.add_timer(timer)
        ids.append(timer.id)
    elif choice < 0.6:
        store.delete_timers(ids=[rng.choice(ids)])  # perhaps one deleted already
    elif choice < 0.7:
        store.delete_timers(account=account, kind=rng.choice([None, "wake", "reeval"]))
    elif choice < 0.75:
        store.delete_timers(enrollment=ACCOUNTS.index(account), account=account)
    elif choice < 0.85:
        store.hold_timer(rng.choice(ids))
    else:  # fire what is due, as the engine does: one at a time, the first due
        for _ in range(rng.randint(1, 5)):
            due = store.due_timers(T0 + timedelta(hours=rng.randint(1, 160)), 1)
            if not due:
                break
            store.delete_timers(ids=[due[0].id])


def test_memory_holds_the_window_not_every_parked_timer(database_url: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sql_timers, "WINDOW", 100)
    store = SqlStore(database_url, exclusive=True)
    try:
        with store.transaction():
            for n in range(1000):  # a thousand parked enrollments, waiting thirty days
                store.add_timer(Timer(id=0, due_at=T0 + timedelta(days=30), kind="wake",
                                      account=f"a{n}", enrollment=n, token=1, journey="j"))
        index = store._timers
        assert index is not None and len(index) <= 200
        with store.transaction():
            fired = 0
            while store.due_timers(T0 + timedelta(days=31), 1):
                store.delete_timers(ids=[store.due_timers(T0 + timedelta(days=31), 1)[0].id])
                fired += 1
        assert fired == 1000
        assert len(index) == 0
    finally:
        store.close()


def test_memory_does_not_grow_with_timers_replaced(database_url: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker replaces an account's re-evaluation timer whenever its next flip moves: the
    timers it no longer has must not stay in memory (they did, in the due order, until their
    instant came — a month of every event's replaced timer)."""
    monkeypatch.setattr(sql_timers, "WINDOW", 100)
    store = SqlStore(database_url, exclusive=True)
    try:
        with store.transaction():
            for n in range(3000):
                for current in store.timers_of("a", "reeval"):
                    store.delete_timers(ids=[current.id])
                store.add_timer(Timer(id=0, due_at=T0 + timedelta(days=30, seconds=n),
                                      kind="reeval", account="a"))
            assert [t.due_at for t in store.timers_of("a", "reeval")] == [
                T0 + timedelta(days=30, seconds=2999)]
            index = store._timers
            assert index is not None and len(index) == 1
            assert len(index._heap) <= 100  # the due order keeps no entry per timer gone
            assert store.next_due() == T0 + timedelta(days=30, seconds=2999)
    finally:
        store.close()
