"""`itinera serve` stops when told (SIGTERM), however busy: a live server on a free loopback
port, kept busy by several clients sending full Segment batches and batches over the limit,
on SQLite and PostgreSQL. The bound is generous (a correctness bound, not a speed target):
before, a server busy with a large batch could not be stopped at all."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time

import httpx
from test_api_serve import ITINERA, eventually, free_port

STOP_WITHIN = 20.0  # seconds
SIZES = (2_500, 20_000)  # a full batch, and one 8 times over the limit


def test_sigterm_stops_a_busy_server(database_url: str) -> None:
    env = {**os.environ, "ITINERA_DATABASE": database_url}
    key = subprocess.run([ITINERA, "keys", "create", "load"], env=env, capture_output=True,
                         text=True, check=True).stdout.strip()
    port = free_port()
    process = subprocess.Popen([ITINERA, "serve", "--port", str(port), "--sandbox"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    stop, answered, told = threading.Event(), [], threading.Event()

    def send(client: int) -> None:  # full batches, one after another, until the server goes
        with httpx.Client(base_url=base, auth=(key, ""), timeout=60) as http:
            n = 0
            while not stop.is_set():
                batch = [{"type": "track", "messageId": f"c{client}-{n}-{i}", "userId": f"u{i}",
                          "event": "Seen", "context": {"groupId": f"a{i % 50}"}}
                         for i in range(SIZES[(client + n) % 2])]
                n += 1
                try:
                    status = http.post("/v1/batch", json={"batch": batch}).status_code
                except httpx.TransportError:
                    return
                if not told.is_set():  # one cut short by the stop may fail: the SDK retries
                    answered.append(status)

    try:
        def health() -> int:
            try:
                return httpx.get(f"{base}/health", timeout=1).status_code
            except httpx.TransportError:
                return 0
        assert eventually(health, lambda s: s == 200 or process.poll() is not None, timeout=60) \
            == 200, process.communicate(timeout=5)[0] if process.poll() is not None else ""
        clients = [threading.Thread(target=send, args=(c,), daemon=True) for c in range(3)]
        for client in clients:
            client.start()
        assert eventually(lambda: len(answered), lambda n: n >= 3, timeout=60) >= 3
        time.sleep(1.0)  # in the middle of receiving and applying
        told.set()
        process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        output, _ = process.communicate(timeout=STOP_WITHIN * 3)
        took = time.monotonic() - started
        assert took < STOP_WITHIN, (took, output[-3000:])
        assert set(answered) <= {200, 413}, answered
        # Until told to stop, no error; a request cut short by the stop may log its own.
        before = output.split("Shutting down")[0]
        assert "Shutting down" in output and "Traceback" not in before, before[-3000:]
    finally:
        stop.set()
        if process.poll() is None:
            process.kill()
            process.wait()
