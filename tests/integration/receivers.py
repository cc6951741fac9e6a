"""A webhook receiver on loopback for the crash tests: records each request's idempotency key."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar


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
