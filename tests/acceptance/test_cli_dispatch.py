"""``itinera dispatch``: a process of its own delivers the outbox a worker filled (webhooks over
real HTTP on loopback, signed), records each delivery, and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
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
        deadline = time.monotonic() + 120
        while len(received) < 12 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    assert len(received) == 12 and len({key for key, _ in received}) == 12
    assert all(signature and signature.startswith("sha256=") for _, signature in received)
    with sa.create_engine(database_url).connect() as connection:
        statuses = connection.execute(sa.select(t.effects.c.status)).scalars().all()
    assert statuses == ["delivered"] * 12


def _children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def test_serve_delivers_from_a_dispatcher_process_it_watches(database_url: str,
                                                              hook_url: str) -> None:
    """By default ``itinera serve`` delivers from one ``itinera dispatch`` process; killed, it is
    started again and delivery goes on."""
    import httpx

    env = {**os.environ, "ITINERA_DATABASE": database_url, "ITINERA_WEBHOOK_SIGNING_SECRET": "s",
           "ITINERA_WEBHOOK_ALLOW_PRIVATE": "true"}
    key = subprocess.run([ITINERA, "keys", "create", "t"], env=env, capture_output=True,
                         text=True, check=True).stdout.strip()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([ITINERA, "serve", "--port", str(port)],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    base, headers = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {key}"}
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        inputs = [
            {"configure": {"segments": [{"id": "gold", "when": {"account.tier": "gold"}}]}},
            {"publish": {"id": "ping", "entry": {"segments": ["gold"]}, "start": "hook",
                         "nodes": {"hook": {"do": [{"webhook": {
                             "url": hook_url, "method": "POST", "body": {"a": 1}}}]}}}},
            {"enable": "ping"},
            {"upsert_account": {"id": "acme", "attributes": {"tier": "gold"}}}]
        answer = httpx.post(f"{base}/api/inputs", json=inputs, headers=headers, timeout=30)
        assert answer.status_code == 202, answer.text
        deadline = time.monotonic() + 120
        while not received and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(received) == 1
        [first] = _children(process.pid)
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (_children(process.pid) - {first}):
            time.sleep(0.2)
        assert len(_children(process.pid) - {first}) == 1
        answer = httpx.post(f"{base}/api/inputs", headers=headers, timeout=30, json=[
            {"upsert_account": {"id": "bodea", "attributes": {"tier": "gold"}}}])
        assert answer.status_code == 202, answer.text
        deadline = time.monotonic() + 120
        while len(received) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(received) == 2
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=120)
    assert process.returncode == 0, output
    assert "Traceback" not in output, output
    assert f"dispatcher process {first} ended" in output
