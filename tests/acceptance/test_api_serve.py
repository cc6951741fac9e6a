"""`itinera serve` for real: a live server on a free loopback port with its worker, fed by
Segment's own Python SDK (segment-analytics-python) pointed at it, on SQLite and PostgreSQL.
Nothing here asks the server to apply inputs: its worker does."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import sqlalchemy as sa
from api_support import ONBOARDING, WORKSPACE
from segment.analytics import Client

from integration.smtp_server import Collector, start
from itinera.storage import schema as t

ITINERA = str(Path(sys.executable).parent / "itinera")
_T = TypeVar("_T")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def eventually(read: Callable[[], _T], ok: Callable[[_T], bool], timeout: float = 120) -> _T:
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if ok(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


@contextmanager
def serve(database_url: str, **settings: str) -> Iterator[tuple[str, str, list[str]]]:
    """(base URL, API key, the server's output once stopped) of a running `itinera serve`;
    ``settings``: more environment (channel settings)."""
    env = {**os.environ, "ITINERA_DATABASE": database_url, **settings}
    created = subprocess.run([ITINERA, "keys", "create", "sdk"], env=env, capture_output=True,
                             text=True, check=True)
    key = created.stdout.strip()
    port = free_port()
    process = subprocess.Popen([ITINERA, "serve", "--port", str(port)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    output: list[str] = []
    try:
        def health() -> int:
            try:
                return httpx.get(f"{base}/health", timeout=1).status_code
            except httpx.TransportError:
                return 0
        assert eventually(health, lambda status: status == 200 or process.poll() is not None) \
            == 200, process.communicate(timeout=5)[0] if process.poll() is not None else ""
        yield base, key, output
        process.send_signal(signal.SIGTERM)  # a clean stop: server, then worker, then database
        output.append(process.communicate(timeout=30)[0])
        assert process.returncode == 0, output[0]
        assert "Traceback" not in output[0], output[0]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.fixture
def server(database_url: str) -> Iterator[tuple[str, str]]:
    """(base URL, API key) of a running `itinera serve` without channel settings."""
    with serve(database_url) as (base, key, output):
        yield base, key
    # No SMTP or webhook settings in this environment: the server said so at start.
    assert "warning: email is not configured" in output[0], output[0]
    assert "warning: webhook is not configured" in output[0], output[0]


def test_segment_sdk_against_a_live_server(server: tuple[str, str], database_url: str) -> None:
    base, key = server
    api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=10)
    setup = api.post("/api/inputs", json=[{"configure": WORKSPACE}, {"publish": ONBOARDING},
                                          {"enable": "onboarding"}])
    assert setup.status_code == 202

    errors: list[Any] = []
    analytics = Client(key, host=base, on_error=lambda error, batch: errors.append(error),
                       max_retries=1, sync_mode=False)
    analytics.identify("ada", {"email": "ada@acme.test", "title": "CTO"})
    analytics.group("ada", "acme", {"name": "Acme", "employees": 1200})
    analytics.track("ada", "trial.started", {"plan": "pro"}, message_id="trial-1")
    analytics.track("ada", "trial.started", {"plan": "pro"}, message_id="trial-1")  # a repeat
    analytics.page("ada", "Docs", "Getting started", {"path": "/docs"})
    analytics.track(anonymous_id="anon-1", event="Clicked")  # no account to act on: kept
    analytics.flush()
    analytics.join()
    assert errors == []

    enrollments = eventually(lambda: api.get("/api/enrollments").json()["items"],
                             lambda items: bool(items))
    assert [(e["journey"], e["account"], e["status"]) for e in enrollments] == [
        ("onboarding", "acme", "active")]
    tasks = eventually(lambda: api.get("/api/tasks").json()["items"], lambda items: bool(items))
    assert [(t["title"], t["assignee"]) for t in tasks] == [("Kick-off with Acme", "ann")]
    rejected = api.get("/api/rejected").json()
    assert rejected["count"] == 1 and "anonymous" in rejected["items"][0]["reason"]

    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            person = connection.execute(sa.select(t.people)).one()
            events = connection.execute(sa.select(t.events.c.id, t.events.c.type)
                                        .where(t.events.c.type.not_like("segment.%"))
                                        .order_by(t.events.c.seq)).all()
            attributes = connection.execute(sa.select(t.accounts.c.attributes)).scalar()
    finally:
        engine.dispose()
    assert (person.id, person.email, person.account) == ("ada", "ada@acme.test", "acme")
    assert attributes == {"name": "Acme", "employees": 1200}
    assert [e.type for e in events] == ["trial.started", "page"]  # the repeat was ignored
    assert events[0].id == "trial-1"


TRIAL: dict[str, Any] = {
    "id": "trial", "name": "Trial", "entry": {"segments": ["trial"]}, "start": "welcome",
    "nodes": {
        "welcome": {"do": [{"send_email": {"template": "welcome"}}], "next": "listen"},
        "listen": {"wait_for": {"events": ["report.created"], "timeout": "3d"},
                   "next": "done", "on_timeout": "done"},
        "done": {"end": True},
    },
}


def test_a_segment_fed_trial_sends_its_first_email_to_the_person(database_url: str) -> None:
    """A new user's live service fed through the Segment SDK: identify (the person), group (a
    new account whose traits put it in the trial journey's entry segment), track. The welcome
    email reaches the person linked by the group, with their first name."""
    collector = Collector()
    smtp = start(collector)
    smtp_port = next(smtp)
    try:
        with serve(database_url, ITINERA_SMTP_HOST="127.0.0.1", ITINERA_SMTP_PORT=str(smtp_port),
                   ITINERA_SMTP_STARTTLS="false",
                   ITINERA_SMTP_FROM_ADDRESS="cs@vendor.test",
                   ITINERA_UNSUBSCRIBE_BASE_URL="http://127.0.0.1/unsubscribe",
                   ITINERA_UNSUBSCRIBE_SECRET="a-test-secret-of-enough-length-0123456789") \
                as (base, key, _):
            api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"},
                               timeout=10)
            setup = api.post("/api/inputs", json=[
                {"configure": {
                    "segments": [{"id": "trial", "when": {"account.plan": "trial"}}],
                    "templates": [{"id": "welcome", "subject": "Welcome to {{ account.name }}",
                                   "text": "Hi {{ person.first_name }}, your trial has begun."}]}},
                {"publish": TRIAL}, {"enable": "trial"}])
            assert setup.status_code == 202, setup.text
            errors: list[Any] = []
            analytics = Client(key, host=base, on_error=lambda error, batch: errors.append(error),
                               max_retries=1, sync_mode=True)
            analytics.identify("ada", {"email": "ada@acme.test", "firstName": "Ada"})
            analytics.group("ada", "acme", {"name": "Acme", "plan": "trial", "employees": 12})
            analytics.track("ada", "report.created", {"report": "usage"})
            assert errors == []
            eventually(lambda: len(collector.received), lambda n: n >= 1)
            enrollments = eventually(
                lambda: api.get("/api/enrollments").json()["items"],
                lambda items: bool(items) and items[0]["status"] == "completed")
    finally:
        next(smtp, None)
    [mail] = collector.received
    assert mail.rcpt_tos == ["ada@acme.test"]
    assert mail.message["Subject"] == "Welcome to Acme"
    body = mail.message.get_body(("plain",))
    assert body is not None and "Hi Ada, your trial has begun." in body.get_content()
    assert [(e["journey"], e["account"], e["status"]) for e in enrollments] == [
        ("trial", "acme", "completed")]
