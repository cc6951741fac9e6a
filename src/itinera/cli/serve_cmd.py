"""``itinera serve``: the REST API and the worker in one process.

The API receives inputs into the durable inbox; a worker thread applies them and fires timers
every ``--interval`` seconds. The database (``--database URL``, else ``$ITINERA_DATABASE``, else
``sqlite:///itinera.db``) is created or migrated at start. Ctrl-C (or SIGTERM) stops the
server, then the worker after the batch it is applying, then closes the database — within a
bound, however busy: requests get :data:`GRACE` seconds to finish, the worker as much, and the
process then ends even if a request still waits for the database (its transaction is rolled
back, and the sender, who got no answer, sends again).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated, Any

import anyio.to_thread
import typer
import uvicorn
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from itinera.api import create_app
from itinera.api.rate_limits import DEFAULT_RATE
from itinera.channels import ChannelError, ChannelSettings, build_channels
from itinera.cli.bounces_cmd import start_receiver
from itinera.cli.db_cmd import DEFAULT_DATABASE
from itinera.errors import ItineraError
from itinera.runtime.dispatcher import Dispatcher
from itinera.runtime.service import Service
from itinera.runtime.worker import run_worker
from itinera.storage import keys
from itinera.storage.engine import shown_url
from itinera.storage.sql import SqlStore

__all__ = ["GRACE", "register", "serve", "unconfigured", "with_worker"]

log = logging.getLogger("itinera.worker")

GRACE = 5  # seconds: what requests, then the worker, get to finish once told to stop


def with_worker(service: Service, interval: float, dispatcher: Dispatcher | None = None,
                ) -> Callable[[Any], AbstractAsyncContextManager[None]]:
    """A lifespan running the worker thread while the server runs; at shutdown it stops the
    worker after the batch it is applying and waits for it."""

    @asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        stop = threading.Event()
        worker = threading.Thread(target=run_worker, args=(service, stop, interval),
                                  kwargs={"dispatcher": dispatcher},
                                  name="itinera-worker", daemon=True)
        worker.start()
        try:
            yield
        finally:
            stop.set()
            service.wake()
            await anyio.to_thread.run_sync(worker.join, GRACE)
            if worker.is_alive():  # a round longer than that: rolled back as the process ends
                log.warning("the worker was still applying inputs after %d s; stopping anyway",
                            GRACE)

    return lifespan


def unconfigured(channels: Mapping[str, Any]) -> list[str]:
    """A warning for each channel that sends and is not configured: its effects would wait
    in the outbox, retried, until it is."""
    missing = {"email": "ITINERA_SMTP_* and ITINERA_UNSUBSCRIBE_*",
               "webhook": "ITINERA_WEBHOOK_*"}
    return [f"warning: {name} is not configured ({variables}, docs/runtime.md): {name}s wait in "
            "the outbox until it is; --sandbox records them without sending"
            for name, variables in missing.items() if name not in channels]


def serve(
    database: Annotated[str, typer.Option(
        "--database", envvar="ITINERA_DATABASE",
        help="SQLAlchemy URL (sqlite:///file.db, postgresql+psycopg://...).")] = DEFAULT_DATABASE,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    interval: Annotated[float, typer.Option(help="Seconds between worker rounds.")] = 0.1,
    sandbox: Annotated[bool, typer.Option(
        "--sandbox", help="Every channel in sandbox: effects are recorded, nothing is sent.")] = False,
    dispatchers: Annotated[int, typer.Option(
        min=0, help="Deliver the outbox from this many processes of their own (`itinera "
                    "dispatch`): more cores for email and webhooks; 0: from a thread of this "
                    "one (which then shares a core with the API and the worker).")] = 1,
    shared: Annotated[bool, typer.Option(
        "--shared", help="Other `itinera serve` processes use the same PostgreSQL database: "
                         "each worker takes the accounts it can lock.")] = False,
    ingest_rate: Annotated[float, typer.Option(
        envvar="ITINERA_INGEST_RATE", min=0,
        help="Requests per second an ingest key may make on /v1 and the bulk ingestion routes, "
             "unless it has a rate of its own (each process counts its own; 0: unlimited).")
    ] = DEFAULT_RATE,
    bounce_port: Annotated[int | None, typer.Option(
        "--bounce-port", min=1, max=65535,
        help="Also receive bounces and complaints over SMTP on this port of --host, as "
             "`itinera bounces` does (docs/runtime.md).")] = None,
) -> None:
    """Serve the REST API (Segment-compatible tracking, bulk ingestion, journeys, enrollments,
    tasks) with a worker applying what it receives."""
    errors = Console(stderr=True, emoji=False, highlight=False, soft_wrap=True)
    try:
        service = Service(database, sandbox=sandbox, shared=shared)
        with service.intake.engine.connect() as connection:
            has_keys = bool(keys.api_keys(connection))
    except (SQLAlchemyError, ValueError, ItineraError) as error:
        errors.print(f"cannot use the database {shown_url(database)}: {error}", markup=False)
        raise typer.Exit(2) from None
    if not has_keys:
        errors.print("no API key yet: create one with `itinera keys create NAME`", markup=False)
    dispatcher = None
    try:  # channels from ITINERA_SMTP_*, ITINERA_WEBHOOK_*, ITINERA_UNSUBSCRIBE_*
        settings = ChannelSettings.from_env()
        if not sandbox:
            channels = build_channels(settings)
            if not dispatchers:  # else the dispatcher processes deliver
                dispatcher = Dispatcher(SqlStore(database, create=False, exclusive=False),
                                        channels, service.clock)
            for missing in unconfigured(channels):
                errors.print(missing, markup=False)
    except ChannelError as error:
        errors.print(f"channel settings: {error}", markup=False)
        raise typer.Exit(2) from None
    secret = settings.unsubscribe.secret.get_secret_value() if settings.unsubscribe else None
    app = create_app(service, unsubscribe_secret=secret,
                     smtp=None if sandbox else settings.smtp,  # templates' test emails
                     ingest_rate=ingest_rate or None)
    app.router.lifespan_context = with_worker(service, interval, dispatcher)
    receiver = None
    if bounce_port is not None:
        if secret is None:
            errors.print("--bounce-port needs ITINERA_UNSUBSCRIBE_SECRET (it signs the return "
                         "paths)", markup=False)
            raise typer.Exit(2)
        receiver = start_receiver(service.intake.engine, secret, host, bounce_port,
                                  service.clock.now)
    # Uvicorn stops gracefully on SIGINT / SIGTERM, then raises the signal again for the
    # handler it found: by then the worker has stopped, so that handler just lets us finish.
    previous = signal.signal(signal.SIGTERM, lambda *_: None)
    delivering = DispatcherProcesses(database, 0 if sandbox else dispatchers, errors)
    try:
        errors.print(f"web UI: http://{host}:{port}/ui/login (sign in as a user, `itinera users "
                     "create NAME --role admin`, or with a key of scope read, write or admin)",
                     markup=False)
        uvicorn.run(app, host=host, port=port, timeout_graceful_shutdown=GRACE)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        delivering.stop()
        if receiver is not None:
            receiver.stop()
        service.close()
    _leave_unfinished_requests(errors)


def _leave_unfinished_requests(errors: Console) -> None:
    """End the process now if request threads outlive the grace: a request cancelled by the
    server may still run in its thread (waiting for SQLite's write lock, say), and Python would
    wait for it at exit. Its transaction is not committed, so the database rolls it back."""
    deadline = time.monotonic() + 1.0  # idle threads of the pool end at once
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join(max(0.0, deadline - time.monotonic()))
    unfinished = [t for t in threading.enumerate()
                  if t is not threading.current_thread() and not t.daemon and t.is_alive()]
    if unfinished:
        errors.print(f"stopped with {len(unfinished)} request(s) unfinished (rolled back)",
                     markup=False)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


class DispatcherProcesses:
    """``itinera dispatch`` processes beside the server, watched: one that ends while the
    server runs is reported and started again (at most every 5 s), so deliveries never stop
    silently."""

    def __init__(self, database: str, count: int, errors: Console) -> None:
        self.database, self.errors = database, errors
        self.processes = [self._start() for _ in range(count)]
        self._stop = threading.Event()
        self._lock = threading.Lock()  # no start after stop
        self._watch = threading.Thread(target=self._watching, name="itinera-dispatchers",
                                       daemon=True)
        if count:
            self._watch.start()

    def _start(self) -> subprocess.Popen[bytes]:
        # The URL goes in the environment, not the command line: `ps` shows command lines.
        return subprocess.Popen(
            [sys.executable, "-m", "itinera", "dispatch", "--parent", str(os.getpid())],
            env={**os.environ, "ITINERA_DATABASE": self.database})

    def _watching(self) -> None:
        while not self._stop.wait(5.0):
            with self._lock:
                for n, process in enumerate(self.processes):
                    code = process.poll()
                    if code is not None and not self._stop.is_set():
                        self.errors.print(f"warning: dispatcher process {process.pid} ended "
                                          f"(exit code {code}); starting another", markup=False)
                        self.processes[n] = self._start()

    def stop(self) -> None:
        """Stop them, each after what it is sending (a minute at most, then killed)."""
        with self._lock:
            self._stop.set()
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def register(app: typer.Typer) -> None:
    """Add the ``serve`` command to the main application."""
    app.command("serve")(serve)
