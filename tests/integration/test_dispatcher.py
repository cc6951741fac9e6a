"""The dispatcher delivers the outbox through real channels (SMTP on loopback), retries with
backoff, dead-letters, skips people who unsubscribed meanwhile, and re-claims an effect whose
delivery was interrupted once its lease ends."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from itinera.channels import ChannelSettings, SmtpSettings, UnsubscribeSettings, build_channels
from itinera.domain.model import Person
from itinera.runtime.clock import ManualClock
from itinera.runtime.dispatcher import Dispatcher, RetryPolicy
from itinera.storage import outbox
from itinera.storage.sql import SqlStore
from itinera.storage.store import Effect
from itinera.timeutil import as_utc

from .smtp_server import Collector, free_port, start

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)


@pytest.fixture
def collector() -> Collector:
    return Collector()


@pytest.fixture
def smtp_port(collector: Collector) -> Iterator[int]:
    yield from start(collector)


@pytest.fixture
def store(database_url: str) -> Iterator[SqlStore]:
    created = SqlStore(database_url, exclusive=False)
    yield created
    created.close()


def settings(port: int) -> ChannelSettings:
    return ChannelSettings(
        smtp=SmtpSettings(host="127.0.0.1", port=port, starttls=False,
                          from_address="cs@vendor.test", timeout=5),
        unsubscribe=UnsubscribeSettings(base_url="https://app.test/unsubscribe", secret="s"))


def email(key: str, person: str = "p1") -> Effect:
    return Effect(key=key, channel="email", status="pending", at=T0, journey="j", node="n",
                  account="acme", person=person,
                  payload={"to": f"{person}@acme.test", "template": "t", "subject": "Hello",
                           "preheader": None, "text": "Hi", "html": None})


def statuses(store: SqlStore) -> list[tuple[str, str, int]]:
    import sqlalchemy as sa

    from itinera.storage import schema as t
    with store.transaction():
        rows = store.conn.execute(sa.select(t.effects.c.key, t.effects.c.status,
                                            t.effects.c.attempts).order_by(t.effects.c.id))
        return [(r.key, r.status, r.attempts) for r in rows]


def add(store: SqlStore, *effects: Effect) -> None:
    with store.transaction():
        store.save_person(Person("p1", "acme", "p1@acme.test", {}))
        store.save_person(Person("p2", "acme", "p2@acme.test", {}, unsubscribed=True))
        for effect in effects:
            store.add_effect(effect)


def test_pending_emails_are_delivered_once(store: SqlStore, collector: Collector,
                                           smtp_port: int) -> None:
    add(store, email("k1"), email("k2"))
    clock = ManualClock(T0)
    dispatcher = Dispatcher(store, build_channels(settings(smtp_port)), clock)
    assert dispatcher.dispatch() == 2
    assert dispatcher.dispatch() == 0
    # Delivered concurrently: in no particular order, each once.
    assert sorted(r.message["X-Itinera-Key"] for r in collector.received) == ["k1", "k2"]
    assert statuses(store) == [("k1", "delivered", 1), ("k2", "delivered", 1)]


def test_people_who_unsubscribed_meanwhile_are_skipped(store: SqlStore, collector: Collector,
                                                       smtp_port: int) -> None:
    add(store, email("k1", person="p2"))
    Dispatcher(store, build_channels(settings(smtp_port)), ManualClock(T0)).dispatch()
    assert collector.received == []
    assert statuses(store) == [("k1", "skipped", 1)]


def test_failures_back_off_then_dead_letter(store: SqlStore, collector: Collector,
                                            smtp_port: int) -> None:
    add(store, email("k1"))
    collector.data_reply = "451 try again later"
    clock = ManualClock(T0)
    policy = RetryPolicy(first_delay=timedelta(seconds=30), max_attempts=3)
    dispatcher = Dispatcher(store, build_channels(settings(smtp_port)), clock, policy)
    assert dispatcher.dispatch() == 1
    assert statuses(store) == [("k1", "pending", 1)]
    clock.advance(timedelta(seconds=29))
    assert dispatcher.dispatch() == 0  # not yet: the first retry waits 30 s
    clock.advance(timedelta(seconds=1))
    assert dispatcher.dispatch() == 1
    clock.advance(timedelta(seconds=59))
    assert dispatcher.dispatch() == 0  # then 60 s
    clock.advance(timedelta(seconds=1))
    assert dispatcher.dispatch() == 1
    assert statuses(store) == [("k1", "dead", 3)]
    clock.advance(timedelta(days=1))
    assert dispatcher.dispatch() == 0


def test_a_permanent_failure_is_dead_at_once(store: SqlStore, collector: Collector,
                                             smtp_port: int) -> None:
    add(store, email("k1"))
    collector.rcpt_reply = "550 no such user"
    Dispatcher(store, build_channels(settings(smtp_port)), ManualClock(T0)).dispatch()
    assert statuses(store) == [("k1", "dead", 1)]
    with store.transaction():
        assert outbox.counts(store) == {"dead": 1}


def test_an_interrupted_delivery_is_claimed_again_after_its_lease(
        store: SqlStore, collector: Collector, smtp_port: int) -> None:
    add(store, email("k1"))
    clock = ManualClock(T0)
    with store.transaction():  # a dispatcher claimed it, then died before sending
        assert len(outbox.claim(store, clock.now(), 10, timedelta(minutes=5))) == 1
    dispatcher = Dispatcher(store, build_channels(settings(smtp_port)), clock)
    assert dispatcher.dispatch() == 0
    clock.advance(timedelta(minutes=5))
    assert dispatcher.dispatch() == 1
    assert statuses(store) == [("k1", "delivered", 2)]
    assert len(collector.received) == 1


def test_an_unconfigured_channel_waits_then_dead_letters(store: SqlStore) -> None:
    add(store, email("k1"))
    clock = ManualClock(T0)
    dispatcher = Dispatcher(store, {}, clock, RetryPolicy(max_attempts=2))
    dispatcher.dispatch()
    assert statuses(store) == [("k1", "pending", 1)]  # SMTP may be configured meanwhile
    clock.advance(timedelta(seconds=30))
    dispatcher.dispatch()
    assert statuses(store) == [("k1", "dead", 2)]


def test_nothing_listening_is_retried(store: SqlStore) -> None:
    add(store, email("k1"))
    Dispatcher(store, build_channels(settings(free_port())), ManualClock(T0)).dispatch()
    assert statuses(store) == [("k1", "pending", 1)]


class _Broken:
    name = "email"

    def deliver(self, effect: Effect) -> object:
        raise KeyError("to")


def test_a_channel_that_raises_anything_else_is_retried_then_dead(store: SqlStore) -> None:
    clock = ManualClock(T0)
    with store.transaction():
        store.add_effect(email("k1"))
    policy = RetryPolicy(first_delay=timedelta(seconds=1), max_attempts=2)
    dispatcher = Dispatcher(store, {"email": _Broken()}, clock, policy)  # type: ignore[dict-item]
    assert dispatcher.dispatch() == 1
    assert statuses(store) == [("k1", "pending", 1)]
    clock.advance(timedelta(seconds=5))
    assert dispatcher.dispatch() == 1
    assert statuses(store) == [("k1", "dead", 2)]
    dispatcher.close()


class _Exiting:
    name = "webhook"

    def deliver(self, effect: Effect) -> object:
        raise SystemExit(3)  # a plugin calling sys.exit


def test_a_channel_calling_sys_exit_is_a_failure_and_other_outcomes_are_kept(
        store: SqlStore, collector: Collector, smtp_port: int) -> None:
    clock = ManualClock(T0)
    add(store, email("k1"), replace(email("k2"), channel="webhook"))
    channels = {**build_channels(settings(smtp_port)), "webhook": _Exiting()}
    dispatcher = Dispatcher(store, channels, clock, RetryPolicy(max_attempts=1))  # type: ignore[dict-item]
    assert dispatcher.dispatch() == 2  # no SystemExit out of the dispatcher
    assert statuses(store) == [("k1", "delivered", 1), ("k2", "dead", 1)]
    assert [r.message["X-Itinera-Key"] for r in collector.received] == ["k1"]
    dispatcher.close()


def test_a_retry_after_beyond_reason_waits_a_day_at_most() -> None:
    policy = RetryPolicy()
    assert policy.delay(1, 999_999_999_999) == timedelta(days=1)
    assert policy.delay(1, float("nan")) == policy.first_delay
    assert policy.delay(1, -5) == policy.first_delay


class _Slow:
    """Delivers, and the clock jumps past half the lease meanwhile."""

    name = "email"

    def __init__(self, clock: ManualClock) -> None:
        self.clock, self.sent = clock, []

    def deliver(self, effect: Effect) -> object:
        from itinera.channels.base import Delivery

        self.sent.append(effect.key)
        self.clock.advance(timedelta(minutes=3))
        return Delivery(True, "ok")


def test_a_claim_running_late_gives_the_rest_back_and_a_late_outcome_is_not_recorded(
        store: SqlStore) -> None:
    clock = ManualClock(T0)
    add(store, email("k1"), email("k2"), email("k3"))
    slow = _Slow(clock)
    dispatcher = Dispatcher(store, {"email": slow}, clock, concurrency=1)  # type: ignore[dict-item]
    assert dispatcher.dispatch() == 3
    # k1 went out; by then 3 of the 5 minutes were gone: k2 and k3 are due again at once,
    # their attempt not counted, for any dispatcher to take.
    assert slow.sent == ["k1"]
    assert statuses(store) == [("k1", "delivered", 1), ("k2", "pending", 0), ("k3", "pending", 0)]
    dispatcher.dispatch()
    assert slow.sent == ["k1", "k2"]  # and so on, a claim at a time

    # A dispatcher that overran its lease, its effect claimed by another since: its outcome
    # is not recorded over the other's.
    with store.transaction():
        first = outbox.claim(store, clock.now(), 1, timedelta(minutes=5))
    lease_end = clock.now() + timedelta(minutes=5)
    clock.advance(timedelta(minutes=6))
    with store.transaction():
        again = outbox.claim(store, clock.now(), 1, timedelta(minutes=5))
    assert [e.key for e, _ in first] == [e.key for e, _ in again]
    with store.transaction():
        assert not outbox.record(store, first[0][0].id, "dead", clock.now(), error="late",
                                 lease_end=lease_end)
        assert outbox.record(store, again[0][0].id, "delivered", clock.now(),
                             lease_end=clock.now() + timedelta(minutes=5))
    dispatcher.close()


def test_outcomes_recorded_together_hold_only_for_their_claim(store: SqlStore) -> None:
    clock = ManualClock(T0)
    add(store, email("k1"), email("k2"), email("k3"))
    lease = timedelta(minutes=5)
    with store.transaction():
        claimed = outbox.claim(store, clock.now(), 3, lease)
    ours = clock.now() + lease
    ids = {e.key: e.id for e, _ in claimed}
    with store.transaction():
        outbox.record_all(store, [
            outbox.Outcome(ids["k1"], "delivered"),
            outbox.Outcome(ids["k2"], "pending", "HTTP 503", clock.now() + timedelta(minutes=1)),
        ], clock.now(), ours)
        outbox.record_all(store, [outbox.Outcome(ids["k3"], "dead", "late")], clock.now(),
                          ours + timedelta(seconds=1))  # another claim's lease: not ours
    assert statuses(store) == [("k1", "delivered", 1), ("k2", "pending", 1), ("k3", "sending", 1)]
    import sqlalchemy as sa

    from itinera.storage import schema as t
    with store.transaction():
        rows = {r.key: r for r in store.conn.execute(sa.select(t.effects))}
    assert rows["k1"].delivered_at is not None and rows["k1"].last_error is None
    assert rows["k2"].delivered_at is None and rows["k2"].last_error == "HTTP 503"
    assert as_utc(rows["k2"].next_attempt_at) == clock.now() + timedelta(minutes=1)
    assert as_utc(rows["k3"].next_attempt_at) == ours  # still the claim's lease


class _Held:
    """Sends at once, except ``k2``, which waits for ``release``."""

    name = "email"

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.started = threading.Event()  # k2 is being sent
        self.release = threading.Event()

    def deliver(self, effect: Effect) -> object:
        from itinera.channels.base import Delivery

        if effect.key == "k2":
            self.started.set()
            self.release.wait(10)
        self.sent.append(effect.key)
        return Delivery(True, "ok")


def test_when_outcomes_cannot_be_recorded_nothing_more_is_sent_and_nothing_is_sent_twice(
        store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    add(store, *(email(f"k{n}") for n in range(1, 6)))
    channel = _Held()
    clock = ManualClock(T0)
    dispatcher = Dispatcher(store, {"email": channel}, clock,  # type: ignore[dict-item]
                            concurrency=1)
    record = dispatcher._record
    failures = [RuntimeError("database is locked")]

    def locked(*args: object) -> None:
        if failures:
            channel.started.wait(10)
            channel.release.set()  # k2 finishes while the record fails
            raise failures.pop()
        record(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(dispatcher, "_record", locked)
    with pytest.raises(RuntimeError, match="locked"):
        dispatcher.dispatch()  # k1 sent; recording it fails while k2 is being sent
    assert channel.sent == ["k1", "k2"]  # k3 to k5 were not sent
    assert [s for _, s, _ in statuses(store)] == ["sending"] * 5

    # The next round records what was sent (k1, k2) and gives back what was not, before it
    # claims anything: k3 to k5 go out once, and k1 and k2 never again, lease or no lease.
    dispatcher.dispatch()
    assert statuses(store) == [("k1", "delivered", 1), ("k2", "delivered", 1),
                               ("k3", "delivered", 1), ("k4", "delivered", 1),
                               ("k5", "delivered", 1)]
    clock.advance(timedelta(minutes=10))
    assert dispatcher.dispatch() == 0
    dispatcher.close()
    assert channel.sent == ["k1", "k2", "k3", "k4", "k5"]


def test_outcomes_left_unrecorded_are_recorded_when_the_dispatcher_closes(
        store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    add(store, email("k1"))
    channel = _Held()
    dispatcher = Dispatcher(store, {"email": channel}, ManualClock(T0),  # type: ignore[dict-item]
                            concurrency=1)
    record = dispatcher._record
    calls = iter([RuntimeError("database is locked")])

    def once_locked(*args: object) -> None:
        error = next(calls, None)
        if error is not None:
            raise error
        record(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(dispatcher, "_record", once_locked)
    with pytest.raises(RuntimeError):
        dispatcher.dispatch()
    dispatcher.close()  # a dispatch process told to stop records what it sent
    assert statuses(store) == [("k1", "delivered", 1)]
    assert channel.sent == ["k1"]


class _Garbled:
    """Fails as a receiver may answer: its words (the start of an HTTP body, an SMTP reply)
    carry a NUL, which PostgreSQL's text cannot hold."""

    name = "email"

    def deliver(self, effect: Effect) -> object:
        from itinera.channels.base import Delivery, RetryableError

        if effect.key == "k1":
            raise RetryableError("POST https://crm.test/hook: HTTP 503 down\x00\x00for now")
        return Delivery(False, "suppressed\x00")


def test_an_outcome_whose_words_the_store_cannot_hold_is_recorded_and_delivery_goes_on(
        store: SqlStore) -> None:
    clock = ManualClock(T0)
    with store.transaction():
        store.add_effect(email("k1"))
    dispatcher = Dispatcher(store, {"email": _Garbled()}, clock)  # type: ignore[dict-item]
    try:
        assert dispatcher.dispatch() == 1
        assert statuses(store) == [("k1", "pending", 1)]
        with store.transaction():
            store.add_effect(email("k2"))
        assert dispatcher.dispatch() == 1  # the kept outcome did not stop the next claim
        assert statuses(store) == [("k1", "pending", 1), ("k2", "skipped", 1)]
        with store.transaction():
            found = {d["key"]: d for d in outbox.deliveries(store.conn)}
        assert found["k1"]["last_error"] == (
            "POST https://crm.test/hook: HTTP 503 down\ufffd\ufffdfor now")
        assert found["k2"]["last_error"] == "suppressed\ufffd"
    finally:
        dispatcher.close()


def test_outcomes_the_database_refuses_do_not_stop_delivery(
        store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """A record refused for its values (not for a busy or absent database) fails at every try:
    kept, it would stop every later claim. It is dropped; its effect is claimed again after
    its lease."""
    import sqlalchemy as sa

    add(store, email("k1"))
    channel = _Held()
    channel.release.set()
    clock = ManualClock(T0)
    dispatcher = Dispatcher(store, {"email": channel}, clock)  # type: ignore[dict-item]
    record = dispatcher._record
    refusals = [1, 2]  # k1's record, and its retry before the next claim

    def refusing(outcomes: list[tuple[int, object]], lease_end: datetime) -> None:
        if refusals:
            refusals.pop()
            raise sa.exc.DataError("UPDATE effects", {}, ValueError("NUL"))
        record(outcomes, lease_end)  # type: ignore[arg-type]

    monkeypatch.setattr(dispatcher, "_record", refusing)
    with pytest.raises(sa.exc.DataError):
        dispatcher.dispatch()
    add(store, email("k2"))
    assert dispatcher.dispatch() == 1  # not stopped by k1's kept outcome
    clock.advance(timedelta(minutes=10))  # k1's lease is over: claimed again, and recorded
    assert dispatcher.dispatch() == 1
    dispatcher.close()
    assert channel.sent == ["k1", "k2", "k1"]
    assert [s for _, s, _ in statuses(store)] == ["delivered", "delivered"]
