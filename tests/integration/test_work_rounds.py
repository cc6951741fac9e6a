"""A worker round is bounded: it fires at most ``limit`` timers, an input waits for the timers
due before it, and the rounds together do exactly what one unbounded round would. A worker
waiting for input wakes when an input is submitted, not at its next poll."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from itinera.runtime import ManualClock, Service
from itinera.runtime.worker import run_worker
from itinera.storage import inbox

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)
ACCOUNTS = 25

SETUP: list[dict[str, Any]] = [
    {"configure": {"segments": [{"id": "all", "when": {"account.tier": "gold"}}],
                   "templates": [{"id": "hi", "subject": "Hi {{ account.name }}"}]}},
    {"publish": {"id": "drip", "entry": {"segments": ["all"]}, "start": "pause",
                 "nodes": {"pause": {"wait": "1m", "next": "hello"},
                           "hello": {"do": [{"send_email": {"template": "hi"}}]}}}},
    {"enable": "drip"},
]


def _accounts(service: Service) -> None:
    batch: list[dict[str, Any]] = []
    for n in range(ACCOUNTS):
        batch.append({"upsert_person": {"id": f"p{n}", "account": f"a{n:02d}",
                                        "email": f"p{n}@a.test"}})
        batch.append({"upsert_account": {"id": f"a{n:02d}",
                                         "attributes": {"name": f"A{n}", "tier": "gold"}}})
    service.submit(SETUP + batch)
    assert service.work() == len(SETUP) + 2 * ACCOUNTS


def test_rounds_fire_at_most_limit_timers_and_inputs_wait_for_earlier_timers(
        database_url: str) -> None:
    clock = ManualClock(T0)
    service = Service(database_url, clock, sandbox=True)
    try:
        _accounts(service)
        clock.set(T0 + timedelta(hours=1))  # every account's wait is over
        # Tiers change after the waits ended: applied only once every email has gone.
        service.submit([{"upsert_account": {"id": "a00", "attributes": {"tier": "silver"}}}])
        rounds = []
        while True:
            done = service.work_round(limit=10)
            rounds.append((done.inputs, done.timers, done.more))
            if not done.more:
                break
        with service.store.transaction():
            effects = service.store.effects()
            left = inbox.pending_count(service.store)
            statuses = {e.status for e in service.store.enrollments()}
    finally:
        service.close()
    assert rounds == [(0, 10, True), (0, 10, True), (1, 5, False)]
    assert left == 0
    assert len(effects) == ACCOUNTS
    assert {e.at for e in effects} == {T0 + timedelta(minutes=1)}  # each at its own instant
    assert statuses == {"completed"}


def test_a_waiting_worker_wakes_when_an_input_is_submitted(database_url: str) -> None:
    service = Service(database_url, sandbox=True)
    stop = threading.Event()
    worker = threading.Thread(target=run_worker, args=(service, stop),
                              kwargs={"interval": 600.0})  # it would otherwise poll in 10 min
    worker.start()
    try:
        service.submit(SETUP)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with service.intake.transaction():
                if inbox.pending_count(service.intake) == 0:
                    break
            time.sleep(0.02)
        with service.intake.transaction():
            assert inbox.pending_count(service.intake) == 0
    finally:
        stop.set()
        service.wake()
        worker.join(timeout=30)
        service.close()
    assert not worker.is_alive()


def test_submit_announces_only_what_was_committed(database_url: str) -> None:
    service = Service(database_url, sandbox=True)
    try:
        assert not service.wait_for_input(0)
        try:
            with service.intake.transaction():
                service.submit(SETUP[:1])
                raise RuntimeError("the caller's transaction fails")
        except RuntimeError:
            pass
        assert not service.wait_for_input(0)  # rolled back: nothing to announce
        service.submit(SETUP[:1])
        assert service.wait_for_input(0)
        assert not service.wait_for_input(0)  # announced once
    finally:
        service.close()
