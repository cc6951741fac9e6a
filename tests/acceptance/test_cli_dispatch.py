"""``itinera dispatch``: a process of its own delivers the outbox a worker filled (webhooks over
real HTTP on loopback, signed), records each delivery, and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import sqlalchemy as sa

from itinera.runtime import Service
from itinera.storage import schema as t

ITINERA = str(Path(sys.executable).with_name("itinera"))
received: list[tuple[str, str | None]] = []


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        received.append((self.headers["X-Itinera-Key"], self.headers.get("X-Itinera-Signature")))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def hook_url() -> Iterator[str]:
    received.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()


def test_a_dispatcher_process_delivers_the_outbox(database_url: str, hook_url: str) -> None:
    service = Service(database_url)  # not sandboxed: effects wait in the outbox
    try:
        service.submit([
            {"configure": {"segments": [{"id": "gold", "when": {"account.tier": "gold"}}]}},
            {"publish": {"id": "ping", "entry": {"segments": ["gold"]}, "start": "hook",
                         "nodes": {"hook": {"do": [{"webhook": {
                             "url": hook_url, "method": "POST",
                             "body": {"account": "{{ account.id }}"}}}]}}}},
            {"enable": "ping"},
            *({"upsert_account": {"id": f"a{i}", "attributes": {"tier": "gold"}}}
              for i in range(12)),
        ])
        service.work()
    finally:
        service.close()
    env = {**os.environ, "ITINERA_WEBHOOK_SIGNING_SECRET": "s",
           "ITINERA_WEBHOOK_ALLOW_PRIVATE": "true"}
    process = subprocess.Popen([ITINERA, "dispatch", "--database", database_url], env=env,
                               stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while len(received) < 12 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert len(received) == 12 and len({key for key, _ in received}) == 12
    assert all(signature and signature.startswith("sha256=") for _, signature in received)
    with sa.create_engine(database_url).connect() as connection:
        statuses = connection.execute(sa.select(t.effects.c.status)).scalars().all()
    assert statuses == ["delivered"] * 12
