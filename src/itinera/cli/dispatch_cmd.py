"""``itinera dispatch``: a process that only delivers the outbox.

Delivering is network waits and Python work (TLS, HTTP, signatures) that shares one core with
the API and the worker in ``itinera serve``; dispatcher processes beside it deliver on other
cores. Several may run on one database (SQLite or PostgreSQL): each claims its own batch, under
a lease. ``itinera serve --dispatchers N`` starts N of them. SIGTERM or Ctrl-C stops one after
the group it is sending.
"""

from __future__ import annotations

import os
import signal
import threading
from datetime import timedelta
from typing import Annotated, Any

import typer
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from itinera.channels import ChannelError, ChannelSettings, build_channels, close_channels
from itinera.cli.db_cmd import DEFAULT_DATABASE
from itinera.errors import ItineraError
from itinera.runtime.clock import SystemClock
from itinera.runtime.dispatcher import Dispatcher, RetryPolicy
from itinera.storage.engine import shown_url
from itinera.storage.sql import SqlStore

__all__ = ["DEFAULT_LEASE", "LeaseOption", "dispatch", "register"]

# Every command that delivers (dispatch, worker) takes the lease the same way.
LeaseOption = Annotated[float, typer.Option(
    "--lease", envvar="ITINERA_DISPATCH_LEASE", min=1.0,
    help="Seconds a claim holds its effects: a process killed mid-delivery leaves them to be "
         "claimed again after this long (and a claim stops starting deliveries after half of "
         "it).")]
DEFAULT_LEASE = RetryPolicy.lease.total_seconds()


def dispatch(
    database: Annotated[str, typer.Option(
        "--database", envvar="ITINERA_DATABASE",
        help="SQLAlchemy URL (sqlite:///file.db, postgresql+psycopg://...).")] = DEFAULT_DATABASE,
    interval: Annotated[float, typer.Option(
        help="Seconds between looks when idle (a look is a read: cheap).")] = 0.01,
    lease: LeaseOption = DEFAULT_LEASE,
    parent: Annotated[int | None, typer.Option(
        hidden=True, help="Stop when this process (the `itinera serve` that started this "
                          "one) is gone.")] = None,
) -> None:
    """Deliver the outbox (emails, webhooks, campaign calls) until stopped."""
    errors = Console(stderr=True, emoji=False, highlight=False, soft_wrap=True)
    try:
        store = SqlStore(database, create=False, exclusive=False)
    except (SQLAlchemyError, ValueError, ItineraError) as error:
        errors.print(f"cannot use the database {shown_url(database)}: {error}", markup=False)
        raise typer.Exit(2) from None
    try:  # channels from ITINERA_SMTP_*, ITINERA_WEBHOOK_*, ITINERA_UNSUBSCRIBE_*
        channels = build_channels(ChannelSettings.from_env())
    except ChannelError as error:
        store.close()
        errors.print(f"channel settings: {error}", markup=False)
        raise typer.Exit(2) from None
    dispatcher = Dispatcher(store, channels, SystemClock(),
                            RetryPolicy(lease=timedelta(seconds=lease)))
    stop = threading.Event()

    def _stop(*_: Any) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        while not stop.is_set():
            if parent is not None and os.getppid() != parent:  # orphaned: serve was killed
                break
            try:
                busy = dispatcher.dispatch() > 0  # what came meanwhile is due now
            except Exception as error:  # the database went away, or a bug: wait, go on
                errors.print(f"could not deliver: {type(error).__name__}: {error}", markup=False)
                stop.wait(1.0)
                continue
            if not busy:
                stop.wait(interval)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        dispatcher.close()
        close_channels(channels)
        store.close()


def register(app: typer.Typer) -> None:
    """Add the ``dispatch`` command to the main application."""
    app.command("dispatch")(dispatch)
