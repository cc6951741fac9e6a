"""``itinera bounces``: the SMTP endpoint bounces and complaints come to (aiosmtpd).

Point the MX of the return path's domain (``ITINERA_BOUNCES_RETURN_PATH``), or a forwarding
rule, at it. Each delivery status notification (RFC 3464) or feedback report (ARF) it receives
is recorded; hard bounces and complaints suppress their address. Signed with
``ITINERA_UNSUBSCRIBE_SECRET`` (the VERP tokens of the return path).
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

import sqlalchemy as sa
import typer
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from itinera.cli.db_cmd import DEFAULT_DATABASE
from itinera.errors import ItineraError
from itinera.runtime.bounces import MAX_MESSAGE, BounceReceiver
from itinera.storage.engine import shown_url
from itinera.storage.sql import SqlStore

__all__ = ["bounces", "register", "start_receiver"]


def start_receiver(engine: sa.Engine, secret: str, host: str, port: int,
                   now: Callable[[], datetime]) -> Any:
    """The bounce receiver listening on ``host:port`` (an aiosmtpd controller, started: the
    caller stops it)."""
    from aiosmtpd.controller import Controller  # only the receiving commands need it

    controller = Controller(BounceReceiver(engine, secret, now), hostname=host, port=port,
                            data_size_limit=MAX_MESSAGE)
    controller.start()
    return controller


def bounces(
    database: Annotated[str, typer.Option(
        "--database", envvar="ITINERA_DATABASE",
        help="SQLAlchemy URL (sqlite:///file.db, postgresql+psycopg://...).")] = DEFAULT_DATABASE,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (25 for an MX).")] = 2525,
) -> None:
    """Receive bounces and complaints over SMTP; hard bounces and complaints suppress."""
    errors = Console(stderr=True, emoji=False, highlight=False, soft_wrap=True)
    secret = os.environ.get("ITINERA_UNSUBSCRIBE_SECRET", "")
    if not secret:
        errors.print("ITINERA_UNSUBSCRIBE_SECRET is needed (it signs the return paths)",
                     markup=False)
        raise typer.Exit(2)
    try:
        store = SqlStore(database, create=False, exclusive=False)
    except (SQLAlchemyError, ValueError, ItineraError) as error:
        errors.print(f"cannot use the database {shown_url(database)}: {error}", markup=False)
        raise typer.Exit(2) from None
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    controller = start_receiver(store.engine, secret, host, port, lambda: datetime.now(UTC))
    errors.print(f"receiving bounces on {host}:{port}", markup=False)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        controller.stop()
        store.close()


def register(app: typer.Typer) -> None:
    """Add the ``bounces`` command to the main application."""
    app.command("bounces")(bounces)
