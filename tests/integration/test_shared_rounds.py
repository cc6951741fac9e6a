"""Workers sharing one PostgreSQL: while one holds the accounts whose timers are due first, the
next takes the following ones instead of finding them all taken; workers in parallel fire every
timer exactly once, as one worker alone would."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from itinera.runtime import ManualClock, Service, partition
from itinera.storage import schema as t

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)
LATER = T0 + timedelta(hours=1)
ACCOUNTS = 120

SETUP: list[dict[str, Any]] = [
    {"configure": {"segments": [{"id": "all", "when": {"account.tier": "gold"}}],
                   "templates": [{"id": "hi", "subject": "Hi {{ account.name }}"}]}},
    {"publish": {"id": "drip", "entry": {"segments": ["all"]}, "start": "w1",
                 "nodes": {"w1": {"wait": "1m", "next": "e1"},
                           "e1": {"do": [{"send_email": {"template": "hi"}}], "next": "w2"},
                           "w2": {"wait": "1m", "next": "e2"},
                           "e2": {"do": [{"send_email": {"template": "hi"}}]}}}},
    {"enable": "drip"},
]


def _enrolled(url: str) -> None:
    service = Service(url, ManualClock(T0), sandbox=True, shared=True)
    try:
        inputs = list(SETUP)
        for n in range(ACCOUNTS):
            inputs.append({"upsert_person": {"id": f"p{n}", "account": f"a{n:03d}",
                                             "email": f"p{n}@a.test"}})
            inputs.append({"upsert_account": {"id": f"a{n:03d}",
                                              "attributes": {"name": f"A{n}", "tier": "gold"}}})
        service.submit(inputs)
        while True:
            done = service.work_round(100)
            if not (done.inputs or done.timers or done.more):
                break
    finally:
        service.close()


def test_a_second_worker_takes_the_next_due_accounts(postgres_url: str) -> None:
    _enrolled(postgres_url)
    first = Service(postgres_url, ManualClock(LATER), sandbox=True, shared=True)
    second = Service(postgres_url, ManualClock(LATER), sandbox=True, shared=True)
    try:
        with first.store.transaction():
            mine = partition.claim(first.store, 10, LATER).accounts
            with second.store.transaction():
                theirs = partition.claim(second.store, 10, LATER).accounts
    finally:
        first.close()
        second.close()
    assert mine is not None and theirs is not None
    assert len(mine) == 10 and len(theirs) == 10
    assert not mine & theirs


def test_workers_in_parallel_fire_every_timer_once(postgres_url: str) -> None:
    _enrolled(postgres_url)
    fired: list[int] = []
    failures: list[BaseException] = []

    def work() -> None:
        service = Service(postgres_url, ManualClock(LATER), sandbox=True, shared=True)
        count = 0
        try:
            while True:
                done = service.work_round(20)
                count += done.timers
                if done.timers or done.more:
                    continue
                with service.store.transaction():
                    if service.store.next_due() is None:
                        break
        except BaseException as error:  # reported by the test below
            failures.append(error)
        finally:
            fired.append(count)
            service.close()

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures
    assert sum(fired) == 2 * ACCOUNTS
    engine = sa.create_engine(postgres_url)
    try:
        with engine.connect() as connection:
            per_account = dict(connection.execute(
                sa.select(t.effects.c.account, sa.func.count()).group_by(t.effects.c.account)
            ).all())
            statuses = dict(connection.execute(
                sa.select(t.enrollments.c.status, sa.func.count())
                .group_by(t.enrollments.c.status)).all())
            timers = connection.execute(sa.select(sa.func.count()).select_from(t.timers)).scalar()
    finally:
        engine.dispose()
    assert per_account == {f"a{n:03d}": 2 for n in range(ACCOUNTS)}
    assert statuses == {"completed": ACCOUNTS}
    assert timers == 0
