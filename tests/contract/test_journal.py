"""The input journal: an applied inbox row moves to the journal in the same transaction that
removes it — both or neither — and the journal outlives the store that wrote it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from itinera.runtime import ManualClock, Service
from itinera.storage import inbox
from itinera.storage import schema as t
from itinera.storage.sql import SqlStore

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)


def rows(*payloads: dict[str, object]) -> list[dict[str, object]]:
    return [{"kind": "upsert_account", "account": p["id"], "key": f"k-{p['id']}", "payload": p,
             "received_at": T0 + timedelta(seconds=i)} for i, p in enumerate(payloads)]


def journaled(store: SqlStore) -> list[inbox.JournalEntry]:
    with store.transaction():
        return inbox.journal(store.conn, T0 + timedelta(days=1))


def test_settled_rows_move_to_the_journal_in_arrival_order(database_url: str) -> None:
    store = SqlStore(database_url)
    try:
        with store.transaction():
            inbox.put(store, rows({"id": "acme", "attributes": {"tier": "gold"}}, {"id": "beta"}))
        with store.transaction():
            taken = inbox.take(store, 10)
            inbox.settle(store, [r.seq for r in taken], T0 + timedelta(minutes=5))
            assert inbox.pending_count(store) == 0
        entries = journaled(store)
        assert [(e.seq, e.kind, e.payload) for e in entries] == [
            (taken[0].seq, "upsert_account", {"id": "acme", "attributes": {"tier": "gold"}}),
            (taken[1].seq, "upsert_account", {"id": "beta"})]
        assert [e.received_at for e in entries] == [T0, T0 + timedelta(seconds=1)]
        assert {e.applied_at for e in entries} == {T0 + timedelta(minutes=5)}
    finally:
        store.close()


def test_a_rolled_back_settle_leaves_the_rows_in_the_inbox_and_none_in_the_journal(
        database_url: str) -> None:
    store = SqlStore(database_url)
    try:
        with store.transaction():
            inbox.put(store, rows({"id": "acme"}))
        with pytest.raises(RuntimeError), store.transaction():
            inbox.settle(store, [r.seq for r in inbox.take(store, 10)], T0)
            raise RuntimeError("the worker died mid-step")
        assert journaled(store) == []
        with store.transaction():
            assert [r.payload for r in inbox.take(store, 10)] == [{"id": "acme"}]
    finally:
        store.close()


def test_an_input_that_fails_is_not_journaled(database_url: str) -> None:
    service = Service(database_url, ManualClock(T0), sandbox=True)
    try:
        with service.intake.transaction():  # past the checks of submit: fails when applied
            inbox.put(service.intake, [
                {"kind": "upsert_account", "account": "acme", "key": None,
                 "payload": {"id": "acme"}, "received_at": T0},
                {"kind": "enable", "account": None, "key": None, "payload": "no-such-journey",
                 "received_at": T0}])
        while service.work_round().more:  # the failed round rolls back; its input is rejected
            pass
        assert [(e.kind, e.payload) for e in journaled(service.store)] == [
            ("upsert_account", {"id": "acme"})]
        with service.store.transaction():
            assert inbox.pending_count(service.store) == 0
    finally:
        service.close()


def test_the_journal_survives_the_store_and_seqs_are_never_reused(database_url: str) -> None:
    service = Service(database_url, ManualClock(T0), sandbox=True)
    try:
        service.submit([{"upsert_account": {"id": "acme"}},
                        {"event": {"id": "e-1", "type": "login", "account": "acme"}}])
        service.work()
    finally:
        service.close()
    store = SqlStore(database_url)  # a new process, say
    try:
        first = journaled(store)
        assert [e.kind for e in first] == ["upsert_account", "event"]
        with store.transaction():
            repeat = {"kind": "event", "account": "acme", "key": "event:e-1",  # ignored
                      "payload": {"id": "e-1", "type": "login", "account": "acme"}, "received_at": T0}
            inbox.put(store, [*rows({"id": "beta"}), repeat])
            inbox.settle(store, [r.seq for r in inbox.take(store, 10)], T0)
        after = journaled(store)
        assert after[:2] == first
        assert [e.payload for e in after[2:]] == [{"id": "beta"}]
        assert after[2].seq > first[-1].seq
        with store.transaction():
            assert store.conn.execute(sa.select(sa.func.count()).select_from(t.inbox)).scalar() == 0
    finally:
        store.close()
