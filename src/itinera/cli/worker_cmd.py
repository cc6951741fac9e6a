"""``itinera worker``: one more worker on a PostgreSQL database that other workers share.

It applies received inputs, fires timers and delivers the outbox, taking only the accounts it
can lock (``runtime.partition``), beside ``itinera serve --shared`` and other ``itinera worker``
processes. SIGTERM or Ctrl-C stops it after the batch it is applying.
"""

from __future__ import annotations

import signal
import threading
from datetime import timedelta
from typing import Annotated, Any

import typer
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from itinera.channels import ChannelError, ChannelSettings, build_channels, close_channels
from itinera.cli.dispatch_cmd import DEFAULT_LEASE, LeaseOption
from itinera.cli.serve_cmd import unconfigured
from itinera.errors import ItineraError
from itinera.runtime.dispatcher import Dispatcher, RetryPolicy
from itinera.runtime.service import Service
from itinera.runtime.worker import run_worker
from itinera.storage.engine import shown_url
from itinera.storage.sql import SqlStore

__all__ = ["register", "worker"]


def worker(
    database: Annotated[str, typer.Option(
        "--database", envvar="ITINERA_DATABASE",
        help="PostgreSQL URL (postgresql+psycopg://...) shared with the other workers.")],
    interval: Annotated[float, typer.Option(help="Seconds between worker rounds.")] = 0.1,
    sandbox: Annotated[bool, typer.Option(
        "--sandbox", help="Every channel in sandbox: effects are recorded, nothing is sent.")] = False,
    lease: LeaseOption = DEFAULT_LEASE,
) -> None:
    """Run one more worker beside `itinera serve --shared` on the same PostgreSQL database."""
    errors = Console(stderr=True, emoji=False, highlight=False, soft_wrap=True)
    if not database.startswith("postgresql"):
        errors.print("several workers need PostgreSQL: give --database postgresql+psycopg://...",
                     markup=False)
        raise typer.Exit(2)
    try:
        service = Service(database, sandbox=sandbox, shared=True)
    except (SQLAlchemyError, ValueError, ItineraError) as error:
        errors.print(f"cannot work on {shown_url(database)}: {error}", markup=False)
        raise typer.Exit(2) from None
    try:
        dispatcher = None
        if not sandbox:  # channels from ITINERA_SMTP_*, ITINERA_WEBHOOK_*, ITINERA_UNSUBSCRIBE_*
            channels = build_channels(ChannelSettings.from_env())
            dispatcher = Dispatcher(SqlStore(database, create=False, exclusive=False),
                                    channels, service.clock,
                                    RetryPolicy(lease=timedelta(seconds=lease)))
            for missing in unconfigured(channels):
                errors.print(missing, markup=False)
    except ChannelError as error:
        service.close()
        errors.print(f"channel settings: {error}", markup=False)
        raise typer.Exit(2) from None
    stop = threading.Event()

    def _stop(*_: Any) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    errors.print(f"worker started on {service.store.engine.url.render_as_string()}; "
                 "Ctrl-C to stop", markup=False)
    try:
        run_worker(service, stop, interval, dispatcher=dispatcher)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if dispatcher is not None:
            close_channels(dispatcher.channels)
            dispatcher.store.close()
        service.close()
    errors.print("worker stopped", markup=False)


def register(app: typer.Typer) -> None:
    """Add the ``worker`` command to the main application."""
    app.command("worker")(worker)
