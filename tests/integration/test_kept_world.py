"""The records an exclusive store's engine keeps in memory between batches: used instead of
loading them again, dropped when a transaction rolls back (the batch's own, or one it ran
inside), and never kept by a shared store, whose records others change."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from itinera.domain.model import Account
from itinera.engine.engine import Engine
from itinera.runtime import ManualClock, Service
from itinera.storage.sql import SqlStore

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)


class Boom(Exception):
    pass


@pytest.fixture
def store(database_url: str) -> Iterator[SqlStore]:
    store = SqlStore(database_url)
    yield store
    store.close()


def _reads_of_accounts(store: SqlStore) -> list[str]:
    """The statements reading the accounts table from now on."""
    seen: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM accounts" in statement:
            seen.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", note)
    return seen


def test_the_next_batch_uses_the_records_kept_from_the_last(store: SqlStore) -> None:
    engine = Engine(store)
    assert engine.upsert_account("acme", T0, {"tier": "gold"})
    reads = _reads_of_accounts(store)
    assert not engine.upsert_account("acme", T0, {"tier": "gold"})  # unchanged: it knew
    assert engine.upsert_account("acme", T0, {"tier": "silver"})
    assert reads == []
    with store.transaction():
        assert store.account("acme") == Account("acme", {"tier": "silver"}, created_at=T0, seq=1)


def test_a_batch_rolled_back_leaves_none_of_its_changes_in_memory(store: SqlStore) -> None:
    engine = Engine(store)
    assert engine.upsert_account("acme", T0, {"tier": "gold"})
    with pytest.raises(Boom), engine.batch():
        assert engine.upsert_account("acme", T0, {"tier": "silver"})
        raise Boom
    # The store holds gold: the engine must know it (silver in memory would make gold a change).
    assert not engine.upsert_account("acme", T0, {"tier": "gold"})
    assert engine.upsert_account("acme", T0, {"tier": "silver"})


def test_a_batch_inside_a_transaction_rolled_back_later_is_forgotten(store: SqlStore) -> None:
    engine = Engine(store)
    assert engine.upsert_account("acme", T0, {"tier": "gold"})
    with pytest.raises(Boom), store.transaction():
        assert engine.upsert_account("acme", T0, {"tier": "silver"})  # its batch ends here
        raise Boom
    assert not engine.upsert_account("acme", T0, {"tier": "gold"})
    with store.transaction():
        assert store.account("acme") == Account("acme", {"tier": "gold"}, created_at=T0, seq=1)


def test_a_shared_store_reads_the_records_again_in_each_batch(database_url: str) -> None:
    worker = SqlStore(database_url, exclusive=False)
    other = SqlStore(database_url, create=False, exclusive=False)
    try:
        assert worker.records_generation() is None
        engine = Engine(worker)
        assert engine.upsert_account("acme", T0, {"tier": "gold"})
        with other.transaction():  # another worker's change
            other.save_account(Account("acme", {"tier": "silver"}, created_at=T0))
        assert not engine.upsert_account("acme", T0, {"tier": "silver"})
        assert engine.upsert_account("acme", T0, {"tier": "gold"})
    finally:
        worker.close()
        other.close()


def test_people_new_in_a_batch_are_kept_in_the_order_a_load_gives(store: SqlStore) -> None:
    engine = Engine(store)
    assert engine.upsert_account("acme", T0)
    with engine.batch():  # p1 is written (given its seq) first, but joins acme last
        assert engine.upsert_person("p1", T0, email="p1@acme.test")
        assert engine.upsert_person("p2", T0, account="acme")
        assert engine.upsert_person("p1", T0, account="acme")
    with engine.batch():
        assert engine.world is not None
        kept = [p.id for p in engine.world.people("acme")]
        assert kept == [p.id for p in store.people_of("acme")] == ["p1", "p2"]


def test_a_set_skipped_for_a_template_error_sets_nothing_later_saved(database_url: str) -> None:
    # The values set before the failing one must not linger in memory: the account's next
    # change (in a later batch, over the records kept) would store them.
    service = Service(database_url, ManualClock(T0))
    try:
        service.submit([
            {"configure": {"segments": [{"id": "all", "when": {"account.tier": "gold"}}]}},
            {"publish": {"id": "j", "entry": {"segments": ["all"]}, "start": "act", "nodes": {
                "act": {"do": [{"set": {"account.a": "half", "account.b": "{{ 1 / 0 }}"}}], "next": "pause"},
                "pause": {"wait": "1m", "next": "count"},
                "count": {"do": [{"increase": {"account.n": 1}}]}}}},
            {"enable": "j"},
            {"upsert_account": {"id": "acme", "attributes": {"tier": "gold"}}}])
        assert service.work() == 4
        service.clock.set(T0 + timedelta(minutes=2))  # type: ignore[attr-defined]
        assert service.work_round().timers == 1
        with service.store.transaction():
            account = service.store.account("acme")
            (enrollment,) = service.store.enrollments()
            history = service.store.history(enrollment.id)
        assert account is not None and account.attributes == {"tier": "gold", "n": 1}
        assert enrollment.status == "completed"
        assert any("division by zero" in str(entry) for entry in history)
    finally:
        service.close()


def test_a_world_loaded_again_replaces_the_kept_people(database_url: str) -> None:
    service = Service(database_url, ManualClock(T0))
    try:
        service.submit([
            {"configure": {"templates": [{"id": "t", "subject": "hi", "text": "hello"}]}},
            {"publish": {"id": "j", "entry": {"event": {"type": "ping"}}, "start": "act",
                         "nodes": {"act": {"do": [{"send_email": {"template": "t", "to": "all"}}]}}}},
            {"enable": "j"},
            {"load_world": {"accounts": [{"id": "acme"}],
                            "people": [{"id": "p1", "account": "acme", "email": "old@x.test"}]}}])
        service.work()
        service.submit([{"load_world": {"accounts": [{"id": "acme"}], "people": [
            {"id": "p1", "account": "acme", "email": "new@x.test", "unsubscribed": True}]}}])
        service.work()
        service.submit([{"event": {"id": "e1", "type": "ping", "account": "acme"}}])
        service.work()
        with service.store.transaction():
            (effect,) = service.store.effects()
            person = service.store.person("p1")
        assert (effect.status, effect.payload.get("reason")) == ("skipped", "unsubscribed")
        assert person is not None and person.email == "new@x.test"
    finally:
        service.close()


def test_a_world_over_the_limit_is_not_kept(store: SqlStore,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from itinera.engine import core

    monkeypatch.setattr(core, "_KEEP", 3)  # records: accounts and people, unattached too
    engine = Engine(store)
    with engine.batch():
        assert engine.upsert_account("acme", T0)
        for n in range(3):
            assert engine.upsert_person(f"loose-{n}", T0, email=f"p{n}@x.test")
    reads = _reads_of_accounts(store)
    assert not engine.upsert_account("acme", T0)
    assert reads != []  # read again: four records were too many to keep
