"""What the crash tests share: a webhook receiver on loopback that records each request's
idempotency key, and the final check of a store after a run with kills."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import sqlalchemy as sa

from itinera.definitions.scenario import Scenario
from itinera.simulate.runner import simulate
from itinera.storage import schema as t


class Hooks(BaseHTTPRequestHandler):
    """Answers 200 to every POST, keeping its ``X-Itinera-Key`` in :attr:`keys`."""

    keys: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        Hooks.keys.append(self.headers["X-Itinera-Key"])
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve_hooks() -> Iterator[str]:
    """The receiver's URL while it runs (a generator for a fixture)."""
    Hooks.keys = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hooks)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                     daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


def assert_delivered_once_as_simulated(url: str, received_email_keys: list[str],
                                       scenario: Scenario, kills: int) -> list[Any]:
    """Every effect delivered, each email and webhook received under its key (a repeat only of
    a delivery in flight at a kill: a group of 8 at most each time), and the enrollments and
    effects the simulator gives for the same inputs. The store's effects, for more checks."""
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        effects = connection.execute(sa.select(
            t.effects.c.key, t.effects.c.channel, t.effects.c.status, t.effects.c.account,
            t.effects.c.node, t.effects.c.person)).all()
        enrollments = connection.execute(sa.select(
            t.enrollments.c.account, t.enrollments.c.status, t.enrollments.c.path)).all()
    engine.dispose()

    assert {e.status for e in effects} == {"delivered"}
    emails = Counter(received_email_keys)
    hooks = Counter(Hooks.keys)
    assert set(emails) == {e.key for e in effects if e.channel == "email"}
    assert set(hooks) == {e.key for e in effects if e.channel == "webhook"}
    assert sum(emails.values()) - len(emails) + sum(hooks.values()) - len(hooks) <= kills * 8

    simulation = simulate(scenario)
    try:
        expected = simulation.result()
    finally:
        simulation.store.close()
    assert sorted((e.account, e.status, list(e.path)) for e in enrollments) == sorted(
        (e["account"], e["status"], e["path"]) for e in expected["enrollments"])
    assert sorted((e.channel, e.account, e.node, e.person) for e in effects) == sorted(
        [(d["channel"], d["account"], d["node"], d["person"]) for d in expected["deliveries"]])
    return list(effects)
