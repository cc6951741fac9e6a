"""Four worker processes share one PostgreSQL database: a 5,000-account journey finishes with
every enrollment and every effect exactly once, and the work really was shared."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import sqlalchemy as sa

from itinera.runtime import Service
from itinera.storage import schema as t

ACCOUNTS = 5000
WORKERS = 4

JOURNEY = {
    "id": "welcome", "entry": {"segments": ["gold"]}, "start": "hello",
    "nodes": {
        "hello": {"do": [{"send_email": {"template": "hi"}}], "next": "pause"},
        "pause": {"wait": "2s", "next": "again"},
        "again": {"do": [{"send_email": {"template": "hi"}},
                         {"create_task": {"title": "Call {{ account.name }}", "assignee": "ann",
                                          "due": "1d"}}]},
    },
}

WORKER = textwrap.dedent("""
    import sys, time
    from itinera.runtime import Service
    service = Service(sys.argv[1], sandbox=True, shared=True)
    applied, idle = 0, 0.0
    while idle < 4.0:
        done = service.work(limit=200)
        applied += done
        with service.store.transaction():
            busy = service.store.next_due() is not None
        if done == 0:
            time.sleep(0.1)
            idle = idle + 0.1 if not busy else 0.0
        else:
            idle = 0.0
    print(applied)
""")


def test_four_workers_finish_a_5000_account_journey_exactly_once(postgres_url: str) -> None:
    service = Service(postgres_url, sandbox=True, shared=True)
    try:
        service.submit([
            {"configure": {"csms": [{"id": "ann", "name": "Ann"}],
                           "segments": [{"id": "gold", "when": {"account.tier": "gold"}}],
                           "templates": [{"id": "hi", "subject": "Hi {{ account.name }}"}]}},
            {"publish": JOURNEY},
            {"enable": "welcome"},
        ])
        for start in range(0, ACCOUNTS, 500):
            batch = []
            for n in range(start, start + 500):
                # The person first: an account enrolls with the people it has at that moment.
                batch.append({"upsert_person": {"id": f"p{n:05d}", "account": f"a{n:05d}",
                                                "email": f"p{n}@a.test"}})
                batch.append({"upsert_account": {"id": f"a{n:05d}",
                                                 "attributes": {"name": f"A{n}", "tier": "gold"}}})
            service.submit(batch)
    finally:
        service.close()

    began = time.monotonic()
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, postgres_url],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(WORKERS)]
    outputs = [worker.communicate(timeout=600) for worker in workers]
    assert all(w.returncode == 0 for w in workers), [err[-2000:] for _, err in outputs]
    applied = [int(out.strip().splitlines()[-1]) for out, _ in outputs]
    assert sum(applied) == 3 + 2 * ACCOUNTS  # every input applied once, by someone
    assert sum(1 for n in applied if n > 0) >= 2, applied  # and the work was shared
    assert time.monotonic() - began < 600

    engine = sa.create_engine(postgres_url)
    try:
        with engine.connect() as connection:
            statuses = dict(connection.execute(
                sa.select(t.enrollments.c.status, sa.func.count()).group_by(
                    t.enrollments.c.status)).all())
            per_account = connection.execute(
                sa.select(t.effects.c.account, t.effects.c.channel, sa.func.count())
                .group_by(t.effects.c.account, t.effects.c.channel)).all()
            inbox_left = connection.execute(sa.select(sa.func.count()).select_from(t.inbox))
            timers_left = connection.execute(sa.select(sa.func.count()).select_from(t.timers))
            assert (inbox_left.scalar(), timers_left.scalar()) == (0, 0)
    finally:
        engine.dispose()
    assert statuses == {"completed": ACCOUNTS}
    counts = {(account, channel): n for account, channel, n in per_account}
    assert len(counts) == 2 * ACCOUNTS
    assert all(counts[(f"a{n:05d}", "email")] == 2 for n in range(ACCOUNTS))
    assert all(counts[(f"a{n:05d}", "task")] == 1 for n in range(ACCOUNTS))
