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
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import sqlalchemy as sa
from api_support import ONBOARDING, WORKSPACE
from segment.analytics import Client

from itinera.storage import schema as t

ITINERA = str(Path(sys.executable).parent / "itinera")
_T = TypeVar("_T")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def eventually(read: Callable[[], _T], ok: Callable[[_T], bool], timeout: float = 20) -> _T:
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if ok(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


@pytest.fixture
def server(database_url: str) -> Iterator[tuple[str, str]]:
    """(base URL, API key) of a running `itinera serve`."""
    env = {**os.environ, "ITINERA_DATABASE": database_url}
    created = subprocess.run([ITINERA, "keys", "create", "sdk"], env=env, capture_output=True,
                             text=True, check=True)
    key = created.stdout.strip()
    port = free_port()
    process = subprocess.Popen([ITINERA, "serve", "--port", str(port)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        def health() -> int:
            try:
                return httpx.get(f"{base}/health", timeout=1).status_code
            except httpx.TransportError:
                return 0
        assert eventually(health, lambda status: status == 200 or process.poll() is not None) \
            == 200, process.communicate(timeout=5)[0] if process.poll() is not None else ""
        yield base, key
        process.send_signal(signal.SIGTERM)  # a clean stop: server, then worker, then database
        output, _ = process.communicate(timeout=30)
        assert process.returncode == 0, output
        assert "Traceback" not in output, output
        # No SMTP or webhook settings in this environment: the server said so at start.
        assert "warning: email is not configured" in output, output
        assert "warning: webhook is not configured" in output, output
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


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
