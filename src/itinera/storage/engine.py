"""The SQLAlchemy engine of a store: SQLite (embedded) or PostgreSQL, chosen by URL.

``postgres://`` and ``postgresql://`` URLs (as hosting providers write them) use psycopg 3;
other backends are refused with a message that says what is supported. JSON goes through
orjson; SQLite begins writers with ``BEGIN IMMEDIATE`` in WAL mode, queued on a file lock
(:mod:`itinera.storage.sqlite_writers`).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.pool import StaticPool

from itinera.errors import StoreError
from itinera.storage.sqlite_writers import QueuedWriterConnection

__all__ = ["READER", "create_engine", "database_url", "json_text", "remembering", "shown_url"]

READER = "itinera_reader"  # execution option of a connection that only reads


def shown_url(url: str) -> str:
    """``url`` fit for a message or a log line: its password, if any, as ``***``."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except (sa.exc.ArgumentError, ValueError):  # not a URL SQLAlchemy reads: mask what looks like one
        return re.sub(r"(://[^:/@\s]*):[^@\s]*@", r"\1:***@", url)


def database_url(url: str) -> str:
    """``url`` as SQLAlchemy takes it: ``postgres://`` and ``postgresql://`` use psycopg 3.
    Raises :class:`StoreError` for a malformed URL or a backend Itinera does not run on."""
    try:
        parsed = sa.engine.make_url(url)
    except (sa.exc.ArgumentError, ValueError):  # ValueError: a port that is no number
        raise StoreError(f"{shown_url(url)!r} is not a database URL: write sqlite:///file.db or "
                         "postgresql+psycopg://user@host/database") from None
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise StoreError(f"Itinera runs on SQLite and PostgreSQL, not {parsed.get_backend_name()}: "
                         "write sqlite:///file.db or postgresql+psycopg://user@host/database")
    return parsed.render_as_string(hide_password=False)


def json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


def _json_value(stored: Any) -> Any:
    """A JSON column's value as read back. SQLite gives a column declared JSON numeric
    affinity: a document that is a bare number (a rejected message ``0``) is stored, and comes
    back, as that number rather than its text."""
    if isinstance(stored, int | float):
        return stored
    return orjson.loads(stored)


def create_engine(url: str) -> sa.Engine:
    """An engine for ``url``; ``sqlite://`` (memory) shares one connection. JSON columns go
    through orjson, several times faster than the standard library on bulk writes."""
    url = database_url(url)
    options: dict[str, Any] = {"json_serializer": json_text, "json_deserializer": _json_value}
    if not url.startswith("sqlite"):
        return sa.create_engine(url, **options)
    memory = url in ("sqlite://", "sqlite:///:memory:")
    if memory:
        options["poolclass"] = StaticPool
    engine = sa.create_engine(url, connect_args={"check_same_thread": False,
                                                 "factory": QueuedWriterConnection}, **options)

    # SQLite's driver would begin transactions lazily and as readers; a writer must take the
    # write lock at BEGIN (IMMEDIATE) so that concurrent writers queue instead of deadlocking,
    # and a file database runs in WAL mode so readers never block the writer. A connection
    # that only reads (execution option READER) begins as a reader: it neither waits for the
    # writer nor holds it up. Writers queue on a file lock first (see sqlite_writers).
    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _: Any) -> None:
        dbapi_connection.isolation_level = None
        if not memory:
            dbapi_connection.execute("PRAGMA journal_mode=WAL")
        dbapi_connection.execute("PRAGMA busy_timeout=30000")

    @sa.event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        if connection.get_execution_options().get(READER, False):
            connection.exec_driver_sql("BEGIN")
        else:
            try:
                connection.connection.dbapi_connection.begin_write()  # type: ignore[union-attr]
            except sqlite3.OperationalError as error:  # raised here, SQLAlchemy does not wrap it
                raise sa.exc.OperationalError("BEGIN IMMEDIATE", None, error) from error

    return engine


def remembering(type_: Any, dialect: Any) -> Callable[[Any], Any] | None:
    """The bind processor of ``type_``; for instants on SQLite (formatted as text, about a
    microsecond each), one that remembers what it formatted: the instants of one batch of
    steps repeat (the step's instant is in its history, effects and timers)."""
    process: Callable[[Any], Any] | None = type_.dialect_impl(dialect).bind_processor(dialect)
    if (process is None or dialect.name != "sqlite"
            or not isinstance(getattr(type_, "impl", type_), sa.DateTime)):
        return process
    formatted: dict[tuple[datetime, Any], Any] = {}

    def remembered(value: datetime | None) -> Any:
        if value is None:
            return None
        key = (value, value.utcoffset())  # equal instants in other offsets format otherwise
        text = formatted.get(key)
        if text is None:
            if len(formatted) >= 10_000:
                formatted.clear()
            text = formatted[key] = process(value)
        return text

    return remembered
