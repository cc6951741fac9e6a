"""Crash test: a worker process running a 2,000-account journey with real SMTP (aiosmtpd) and
real webhooks (HTTP on loopback) is killed with SIGKILL at 20 random moments and restarted. In
the end every input is applied once, every email and webhook arrived — a delivery in flight at
a kill may arrive again, always with the same idempotency key, so receivers see each effect
once — and the final state is the simulator's for the same inputs."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from itinera.definitions.loader import load_scenario
from itinera.runtime import Service
from itinera.storage import schema as t

from .receivers import assert_delivered_once_as_simulated, serve_hooks
from .smtp_server import Collector, start

ACCOUNTS = 2000
KILLS = 20

WORKER = textwrap.dedent("""
    import sys, time
    from datetime import timedelta
    from itinera.channels import (ChannelSettings, SmtpSettings, UnsubscribeSettings,
                                  WebhookSettings, build_channels)
    from itinera.runtime import Dispatcher, RetryPolicy, Service
    from itinera.storage.sql import SqlStore
    url, smtp_port = sys.argv[1], int(sys.argv[2])
    service = Service(url)
    channels = build_channels(ChannelSettings(
        smtp=SmtpSettings(host="127.0.0.1", port=smtp_port, starttls=False,
                          from_address="cs@vendor.test", timeout=5),
        unsubscribe=UnsubscribeSettings(base_url="https://app.test/u", secret="s"),
        webhook=WebhookSettings(signing_secret="s", allow_private=True, timeout=5)))
    policy = RetryPolicy(first_delay=timedelta(seconds=0.2), lease=timedelta(seconds=1))
    dispatcher = Dispatcher(SqlStore(url, create=False, exclusive=False), channels,
                            service.clock, policy, concurrency=8)
    while True:
        done = service.work(limit=100) + dispatcher.dispatch(limit=50)
        if not done:
            time.sleep(0.05)
""")

SCENARIO = """
start: 2026-01-05T09:00:00Z
until: 1d
data:
  segments: [{id: gold, when: {account.tier: gold}}]
  templates: [{id: hi, subject: "Hi {{ account.name }}"}]
  accounts: []
journeys:
  - id: welcome
    entry: {segments: [gold]}
    start: hello
    nodes:
      hello:
        do:
          - send_email: {template: hi}
          - webhook: {url: "HOOK", body: {account: "{{ account.id }}"}}
        next: pause
      pause: {wait: 1s, next: again}
      again: {do: [{send_email: {template: hi}}]}
timeline:
  - {at: 0s, enable: welcome}
"""


@pytest.fixture
def hook_url() -> Iterator[str]:
    yield from serve_hooks()


def inputs() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for n in range(ACCOUNTS):
        rows.append({"upsert_person": {"id": f"p{n:05d}", "account": f"a{n:05d}",
                                       "email": f"p{n}@a.test"}})
        rows.append({"upsert_account": {"id": f"a{n:05d}",
                                        "attributes": {"name": f"A{n}", "tier": "gold"}}})
    return rows


def settled(url: str) -> bool:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            count = lambda q: connection.execute(sa.select(sa.func.count()).select_from(q)).scalar()  # noqa: E731
            return bool(count(t.inbox) == 0 and count(t.timers) == 0 and count(
                t.effects.select().where(t.effects.c.status.in_(["pending", "sending"])
                                         ).subquery()) == 0
                        and count(t.enrollments) == ACCOUNTS)
    finally:
        engine.dispose()


def test_sigkill_at_random_moments_loses_and_repeats_nothing(tmp_path: Path,
                                                            hook_url: str) -> None:
    collector = Collector()
    smtp = start(collector)
    smtp_port = next(smtp)
    url = f"sqlite:///{tmp_path}/live.db"
    scenario = SCENARIO.replace("HOOK", hook_url)
    loaded = load_scenario(_write(tmp_path, scenario))
    service = Service(url)
    try:
        service.submit([{"configure": {"segments": [{"id": "gold", "when": {"account.tier": "gold"}}],
                                       "templates": [{"id": "hi", "subject": "Hi {{ account.name }}"}]}},
                        {"publish": loaded.journeys[0].model_dump(mode="json", by_alias=True,
                                                                  exclude_none=True)},
                        {"enable": "welcome"}])
        for start_at in range(0, 2 * ACCOUNTS, 1000):
            service.submit(inputs()[start_at:start_at + 1000])
    finally:
        service.close()

    rng = random.Random(20261124)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    kills = 0
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        worker = subprocess.Popen([sys.executable, "-c", WORKER, url, str(smtp_port)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if kills < KILLS:
            time.sleep(rng.uniform(0.3, 2.5))
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            kills += 1
            continue
        while not settled(url) and time.monotonic() < deadline and worker.poll() is None:
            time.sleep(0.5)
        worker.send_signal(signal.SIGKILL)
        _, errors = worker.communicate()
        assert settled(url), errors[-3000:]
        break
    next(smtp, None)

    assert kills == KILLS
    assert_delivered_once_as_simulated(
        url, [r.message["X-Itinera-Key"] for r in collector.received], loaded, KILLS)


def _write(tmp_path: Path, text: str) -> Path:
    """The scenario the simulator runs: the same inputs, at one instant."""
    path = tmp_path / "crash.scenario.yaml"
    entries = []
    for n in range(ACCOUNTS):
        entries.append(f"  - {{at: 0s, upsert_person: {{id: p{n:05d}, account: a{n:05d}, "
                       f"email: p{n}@a.test}}}}")
        entries.append(f"  - {{at: 0s, upsert_account: {{id: a{n:05d}, "
                       f"attributes: {{name: A{n}, tier: gold}}}}}}")
    path.write_text(text + "\n".join(entries) + "\n")
    return path
