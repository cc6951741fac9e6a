"""Crash tests of the deployment users run: ``itinera serve`` as a process (its API, its worker
and the ``itinera dispatch`` process it starts), and on PostgreSQL ``itinera serve --shared``
with two ``itinera worker`` processes beside it. A client posts batches of inputs over HTTP,
retrying each until it is accepted, while processes are killed with SIGKILL at random moments
— some while a batch is being received, some with a batch cut off half-sent — and started
again. In the end every input is applied exactly once (an event applied twice would send its
account down the ``twice`` branch), every email and webhook arrived (a repeat only of a
delivery in flight at a kill, always with its idempotency key), and the final state is the
simulator's for the same inputs."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from itinera.definitions.loader import load_scenario
from itinera.storage import schema as t

from .receivers import assert_delivered_once_as_simulated, serve_hooks
from .smtp_server import Collector, start

ITINERA = str(Path(sys.executable).parent / "itinera")
ACCOUNTS = 240
PER_BATCH = 20  # accounts per request (four inputs each)
KILLS = 8

JOURNEY = """
- id: welcome
  entry: {segments: [gold]}
  start: hello
  nodes:
    hello: {do: [{send_email: {template: hi}}], next: pause}
    pause: {wait: 1s, next: check}
    check:
      split:
        - when: {performed: {event: demo.requested, count: {gte: 2}}}
          next: twice
        - when: {performed: {event: demo.requested}}
          next: keen
        - else: plain
    twice: {do: [{webhook: {url: "HOOK", body: {twice: "{{ account.id }}"}}}]}
    keen: {do: [{webhook: {url: "HOOK", body: {account: "{{ account.id }}"}}}]}
    plain: {do: [{send_email: {template: hi}}]}
"""
WORKSPACE = {"segments": [{"id": "gold", "when": {"account.tier": "gold"}}],
             "templates": [{"id": "hi", "subject": "Hi {{ account.name }}"}]}


def account_inputs(n: int) -> list[dict[str, Any]]:
    """An account, its person, an event for every other one, then the attribute that enrolls
    it: in this order, the split sees the event whenever the wait ends."""
    account, person = f"a{n:04d}", f"p{n:04d}"
    inputs: list[dict[str, Any]] = [
        {"upsert_account": {"id": account, "attributes": {"name": f"A{n}"}}},
        {"upsert_person": {"id": person, "account": account, "email": f"{person}@a.test"}}]
    if n % 2 == 0:
        inputs.append({"event": {"id": f"e{n:04d}", "type": "demo.requested",
                                 "account": account}})
    inputs.append({"upsert_account": {"id": account, "attributes": {"tier": "gold"}}})
    return inputs


def batches() -> list[list[dict[str, Any]]]:
    return [[entry for n in range(first, first + PER_BATCH) for entry in account_inputs(n)]
            for first in range(0, ACCOUNTS, PER_BATCH)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Deployment:
    """The processes of one deployment, started again after each kill."""

    def __init__(self, url: str, key: str, env: dict[str, str], workers: int) -> None:
        self.url, self.key, self.env, self.workers = url, key, env, workers
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.serve: subprocess.Popen[bytes] | None = None
        self.others: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []

    def _spawn(self, args: list[str]) -> subprocess.Popen[bytes]:
        log = Path(self.env["CRASH_LOGS"]) / f"{len(self.logs):03d}-{args[0]}.log"
        self.logs.append(log)
        with log.open("wb") as output:
            return subprocess.Popen([ITINERA, *args], env=self.env, stdout=output,
                                    stderr=subprocess.STDOUT)

    def up(self) -> None:
        """Every process that is not running, started; returns once the API answers."""
        if self.serve is None or self.serve.poll() is not None:
            shared = ["--shared"] if self.workers else []
            self.serve = self._spawn(["serve", "--port", str(self.port), "--interval", "0.05",
                                      *shared])
        self.others = [p for p in self.others if p.poll() is None]
        while len(self.others) < self.workers:
            self.others.append(self._spawn(["worker", "--interval", "0.05"]))
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert self.serve.poll() is None, self.log_tail()
            time.sleep(0.05)
        raise AssertionError(f"itinera serve did not answer: {self.log_tail()}")

    def victims(self) -> list[tuple[str, int]]:
        """What can be killed now: the server, its dispatcher processes, the workers."""
        found: list[tuple[str, int]] = []
        if self.serve is not None and self.serve.poll() is None:
            found.append(("serve", self.serve.pid))
            found.extend(("dispatch", pid) for pid in _children(self.serve.pid))
        found.extend(("worker", p.pid) for p in self.others if p.poll() is None)
        return found

    def down(self) -> None:
        for process in [self.serve, *self.others]:
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in [self.serve, *self.others]:
            if process is not None:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

    def log_tail(self) -> str:
        return "\n".join(f"== {log.name}\n{log.read_text(errors='replace')[-2000:]}"
                         for log in self.logs[-4:] if log.exists())


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


class Client(threading.Thread):
    """Posts every batch in order, each until the server accepts it (as a Segment SDK retries);
    ``in_flight`` is set while a request is out. Before some attempts it sends half a batch on a
    raw socket and leaves it hanging, to be cut off by a kill."""

    def __init__(self, deployment: Deployment, rng: random.Random) -> None:
        super().__init__(daemon=True)
        self.deployment, self.rng = deployment, rng
        self.in_flight = threading.Event()
        self.refused: list[str] = []
        self.done = threading.Event()
        self.halves: list[socket.socket] = []

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.deployment.key}"}
        for batch in batches():
            body = httpx.Request("POST", "http://x", json=batch).content
            while True:
                if self.rng.random() < 0.3:
                    self._half(body)
                self.in_flight.set()
                try:
                    answer = httpx.post(f"{self.deployment.base}/api/inputs", content=body,
                                        headers={**headers, "Content-Type": "application/json"},
                                        timeout=30)
                except httpx.TransportError:
                    answer = None
                finally:
                    self.in_flight.clear()
                if answer is not None and answer.status_code == 202:
                    break
                if answer is not None and answer.status_code < 500:
                    self.refused.append(f"{answer.status_code} {answer.text[:500]}")
                    self.done.set()
                    return
                time.sleep(0.2)
        self.done.set()

    def _half(self, body: bytes) -> None:
        try:
            half = socket.create_connection(("127.0.0.1", self.deployment.port), timeout=2)
            half.sendall(b"POST /api/inputs HTTP/1.1\r\nHost: x\r\n"
                         b"Authorization: Bearer " + self.deployment.key.encode() + b"\r\n"
                         b"Content-Type: application/json\r\n"
                         b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
                         + body[: len(body) // 2])
            self.halves.append(half)
        except OSError:
            pass


def backlog(url: str) -> dict[str, int]:
    """What is left to do: inputs not applied, timers, effects not delivered, enrollments not
    ended."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            def count(query: Any) -> int:
                return int(connection.execute(
                    sa.select(sa.func.count()).select_from(query)).scalar_one())
            return {"inbox": count(t.inbox), "timers": count(t.timers),
                    "undelivered": count(t.effects.select().where(
                        t.effects.c.status.in_(["pending", "sending"])).subquery()),
                    "not ended": ACCOUNTS - count(t.enrollments.select().where(
                        t.enrollments.c.status != "active").subquery())}
    finally:
        engine.dispose()


def settled(url: str) -> bool:
    return not any(backlog(url).values())


@pytest.fixture
def hook_url() -> Iterator[str]:
    yield from serve_hooks()


@pytest.fixture
def smtp() -> Iterator[tuple[Collector, int]]:
    collector = Collector()
    for port in start(collector):
        yield collector, port


def run_deployment(url: str, tmp_path: Path, hook_url: str, smtp: tuple[Collector, int],
                   workers: int, seed: int) -> None:
    collector, smtp_port = smtp
    logs = tmp_path / "logs"
    logs.mkdir()
    env = {**os.environ, "ITINERA_DATABASE": url, "PYTHONUNBUFFERED": "1", "CRASH_LOGS": str(logs),
           "ITINERA_SMTP_HOST": "127.0.0.1", "ITINERA_SMTP_PORT": str(smtp_port),
           "ITINERA_SMTP_STARTTLS": "false", "ITINERA_SMTP_FROM_ADDRESS": "cs@vendor.test",
           "ITINERA_SMTP_TIMEOUT": "5",
           "ITINERA_UNSUBSCRIBE_BASE_URL": "https://app.test/u", "ITINERA_UNSUBSCRIBE_SECRET": "s",
           "ITINERA_WEBHOOK_SIGNING_SECRET": "s", "ITINERA_WEBHOOK_ALLOW_PRIVATE": "true",
           "ITINERA_WEBHOOK_TIMEOUT": "5",
           # A killed dispatcher's claim is taken again after 3 s, not 5 min.
           "ITINERA_DISPATCH_LEASE": "3"}
    subprocess.run([ITINERA, "db", "upgrade"], env=env, check=True, capture_output=True)
    key = subprocess.run([ITINERA, "keys", "create", "crash"], env=env, capture_output=True,
                         text=True, check=True).stdout.strip()
    deployment = Deployment(url, key, env, workers)
    deployment.up()
    setup = [{"configure": WORKSPACE},
             {"publish": load_scenario(_scenario(tmp_path, hook_url)).journeys[0].model_dump(
                 mode="json", by_alias=True, exclude_none=True)},
             {"enable": "welcome"}]
    answer = httpx.post(f"{deployment.base}/api/inputs?wait=true", json=setup,
                        headers={"Authorization": f"Bearer {key}"}, timeout=30)
    assert answer.status_code == 200, answer.text

    rng = random.Random(seed)
    client = Client(deployment, random.Random(seed + 1))
    client.start()
    killed: Counter[str] = Counter()
    try:
        for kill in range(KILLS):
            if kill % 2 == 0:  # while a batch is being received
                client.in_flight.wait(10)
            time.sleep(rng.uniform(0.1, 1.5))
            victims = deployment.victims()
            name, pid = rng.choice(victims)
            os.kill(pid, signal.SIGKILL)
            killed[name] += 1
            time.sleep(0.3)
            if name != "dispatch":  # serve starts its dispatcher again (within 5 s) by itself
                deployment.up()
        deployment.up()
        assert client.done.wait(240), deployment.log_tail()
        assert not client.refused, client.refused
        deadline = time.monotonic() + 240
        while not settled(url) and time.monotonic() < deadline:
            deployment.up()  # a dispatcher orphaned by a killed server may be gone: serve again
            time.sleep(0.5)
        assert settled(url), f"{backlog(url)}\n{deployment.log_tail()}"
    finally:
        deployment.down()
        for half in client.halves:
            half.close()
    assert sum(killed.values()) == KILLS

    engine = sa.create_engine(url)
    with engine.connect() as connection:
        events = connection.execute(sa.select(t.events.c.type, sa.func.count()).group_by(
            t.events.c.type)).all()
    engine.dispose()
    # Each event once, however often its batch was posted.
    assert dict(events)["demo.requested"] == ACCOUNTS // 2, events
    effects = assert_delivered_once_as_simulated(
        url, [r.message["X-Itinera-Key"] for r in collector.received],
        load_scenario(_scenario(tmp_path, hook_url)), KILLS)
    assert not any(e.node == "twice" for e in effects)


def _scenario(tmp_path: Path, hook_url: str) -> Path:
    """The same inputs for the simulator, in the order the client posts them, at one instant."""
    import yaml

    timeline: list[dict[str, Any]] = [{"at": "0s", "enable": "welcome"}]
    timeline += [{"at": "0s", **entry} for batch in batches() for entry in batch]
    scenario = {"start": "2026-01-05T09:00:00Z", "until": "1d",
                "data": {**WORKSPACE, "accounts": []},
                "journeys": yaml.safe_load(JOURNEY.replace("HOOK", hook_url)),
                "timeline": timeline}
    path = tmp_path / "crash.scenario.yaml"
    path.write_text(yaml.safe_dump(scenario, sort_keys=False))
    return path


def test_killing_serve_its_dispatcher_and_requests_loses_and_repeats_nothing(
        tmp_path: Path, hook_url: str, smtp: tuple[Collector, int]) -> None:
    run_deployment(f"sqlite:///{tmp_path}/live.db", tmp_path, hook_url, smtp, workers=0,
                   seed=20261207)


def test_killing_serve_and_workers_on_postgresql_loses_and_repeats_nothing(
        postgres_url: str, tmp_path: Path, hook_url: str, smtp: tuple[Collector, int]) -> None:
    run_deployment(postgres_url, tmp_path, hook_url, smtp, workers=2, seed=20261208)
