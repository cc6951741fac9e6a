"""``itinera demo``: the live service on an accelerated clock, with a plausible world and
events, so journeys visibly progress. Creates ``./itinera-demo.db`` afresh.

On a terminal the progress is one compact view kept up to date (rich's ``Live``); piped, a line
per round. Ctrl-C, SIGTERM and ``--for`` stop it the same way: the server and the worker end,
the store is closed, and the last line says where the data stays."""

from __future__ import annotations

import random
import secrets
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Annotated

import sqlalchemy as sa
import typer
import uvicorn
from rich.console import Console
from rich.live import Live
from rich.table import Table

from itinera.api import create_app
from itinera.cli.serve_cmd import with_worker
from itinera.runtime.demo import (
    AcceleratedClock,
    DemoFeed,
    demo_inputs,
    example_scenario,
)
from itinera.runtime.service import Service
from itinera.runtime.worker_lock import WorkerLock, WorkerLockError
from itinera.storage import keys, queries, users
from itinera.storage import schema as t
from itinera.timeutil import format_instant, parse_duration

__all__ = ["demo", "register"]


def demo(
    run_for: Annotated[str | None, typer.Option(
        "--for", help="Stop by itself after this long (e.g. 60s).")] = None,
    port: Annotated[int, typer.Option(help="Port of the API.")] = 8000,
    accounts: Annotated[int, typer.Option(help="How many accounts to make up.")] = 300,
    seconds_per_day: Annotated[float, typer.Option(
        help="Wall-clock seconds per virtual day.")] = 3.0,
) -> None:
    """Run the service on ./itinera-demo.db with the example journey and a made-up world."""
    out = Console(emoji=False, highlight=False, soft_wrap=True)
    limit = parse_duration(run_for).total_seconds() if run_for else None
    database = Path("itinera-demo.db")
    problem = _port_taken(port) or _demo_running(database)
    if problem:  # before the old demo's database is replaced
        Console(stderr=True, emoji=False, highlight=False).print(problem, markup=False)
        raise typer.Exit(2)
    for leftover in (database, Path("itinera-demo.db-wal"), Path("itinera-demo.db-shm")):
        leftover.unlink(missing_ok=True)
    clock = AcceleratedClock(datetime.now(UTC).replace(microsecond=0), 86400 / seconds_per_day)
    service = Service(f"sqlite:///{database}", clock, sandbox=True)
    rng = random.Random(2026)
    out.print(f"[bold]Itinera demo[/] — {accounts} accounts, the AJO Bodea-Product X journey, "
              f"one virtual day every {seconds_per_day:g} s; channels in sandbox.")
    inputs = demo_inputs(example_scenario(), accounts, rng)
    service.submit(inputs)
    password = secrets.token_urlsafe(9)  # a fresh demo database each run: a fresh password
    with service.intake.engine.begin() as connection:
        _, key = keys.create_api_key(connection, "demo", datetime.now(UTC), "admin")
        users.create_user(connection, "demo", password, "admin", datetime.now(UTC))
    app = create_app(service)
    app.router.lifespan_context = with_worker(service, 0.1)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started and thread.is_alive():  # a port taken meanwhile ends the thread
        time.sleep(0.05)
    if not server.started:
        service.close()
        Console(stderr=True, emoji=False, highlight=False).print(
            f"the API could not listen on port {port}", markup=False)
        raise typer.Exit(2)
    out.print(f"API on http://127.0.0.1:{port} (key: {key}); try "
              f"`curl -H 'Authorization: Bearer {key}' http://127.0.0.1:{port}/api/enrollments`")
    out.print(f"Web UI: http://127.0.0.1:{port}/ui/login (sign in as demo, password {password}; "
              "an admin: `itinera users create NAME --role editor --database "
              f"sqlite:///{database}` adds others)")
    out.print("Ctrl-C stops the demo.")
    feed = DemoFeed(service, inputs, rng)
    stop = threading.Event()
    began = time.monotonic()
    try:
        with _stopping_on_sigterm(stop), _view(out) as show:
            while limit is None or time.monotonic() - began < limit:
                if stop.wait(min(seconds_per_day, 2.0)):
                    break
                feed.tick()
                show(_progress(service, clock.now(), feed))
    except KeyboardInterrupt:
        pass
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        service.close()
    out.print(f"Stopped. The world stays in ./{database} (`itinera serve --database "
              f"sqlite:///{database} --sandbox` to look again; the next `itinera demo` starts "
              "afresh).")


@contextmanager
def _stopping_on_sigterm(stop: threading.Event) -> Iterator[None]:
    """SIGTERM (a service manager, ``kill``) stops the demo as Ctrl-C does."""

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@dataclass(frozen=True)
class Progress:
    """What the demo shows each round."""

    now: datetime
    accounts: int
    arrived: int
    events: int
    statuses: dict[str, int]
    engaged: int
    effects: dict[str, int]

    def line(self) -> str:
        summary = ", ".join(f"{n} {s}" for s, n in sorted(self.statuses.items())) or "none yet"
        sent = ", ".join(f"{n} {c}" for c, n in sorted(self.effects.items())) or "nothing yet"
        return (f"{(format_instant(self.now) or '')[:16]}  accounts: {self.accounts} "
                f"({self.arrived} new); events: {self.events}; enrollments: {summary}; "
                f"goal met: {self.engaged}; effects: {sent}")

    def table(self) -> Table:
        view = Table(title=f"Itinera demo — virtual time {(format_instant(self.now) or '')[:16]}",
                     show_header=False, title_justify="left", box=None, padding=(0, 2))
        view.add_column(style="bold")
        view.add_column()
        view.add_row("accounts", f"{self.accounts} ({self.arrived} arrived during the demo)")
        view.add_row("opens and clicks", str(self.events))
        view.add_row("enrollments", ", ".join(
            f"{n} {s}" for s, n in sorted(self.statuses.items())) or "none yet")
        view.add_row("buying groups engaged", str(self.engaged))
        view.add_row("effects", ", ".join(
            f"{n} {c}" for c, n in sorted(self.effects.items())) or "nothing yet")
        return view


def _progress(service: Service, now: datetime, feed: DemoFeed) -> Progress:
    with service.intake.engine.connect() as connection:
        statuses = queries.enrollment_counts(connection)
        effects = queries.effect_counts(connection)
        engaged = connection.execute(sa.select(sa.func.count()).select_from(t.enrollments)
                                     .where(t.enrollments.c.goal_achieved.is_(True))).scalar_one()
    return Progress(now, len(feed.accounts), feed.arrived, feed.sent, statuses, engaged, effects)


@contextmanager
def _view(out: Console) -> Iterator[Callable[[Progress], None]]:
    """A live view on a terminal; elsewhere (a pipe, a log) one line per round."""
    if not out.is_terminal:
        yield lambda progress: out.print(progress.line(), markup=False)
        return
    with Live(console=out, auto_refresh=False, transient=False) as live:
        yield lambda progress: live.update(progress.table(), refresh=True)


def _port_taken(port: int) -> str | None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return f"port {port} is in use: stop what uses it, or choose another with --port"
    return None


def _demo_running(database: Path) -> str | None:
    """Whether a demo (or a server) works on ``database`` here: it holds the worker lock."""
    try:
        WorkerLock(sa.create_engine(f"sqlite:///{database}"), shared=False).release()
    except WorkerLockError:
        return f"another demo (or server) is running on ./{database}: stop it first"
    return None


def register(app: typer.Typer) -> None:
    """Add the ``demo`` command to the main application."""
    app.command("demo")(demo)
