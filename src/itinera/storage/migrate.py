"""Schema migrations of a persistent store (Alembic), driven in code: no ``alembic.ini``.

The revisions live in the package (``itinera.storage.migrations``); ``upgrade`` brings a
database to the latest, ``current`` tells its revision and ``check`` lists how it differs from
``itinera.storage.schema`` (empty when in sync). ``itinera db upgrade|current|check`` are the
same on the command line, and ``SqlStore(url)`` upgrades a file SQLite or PostgreSQL database
when it opens it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from importlib.resources import files
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from itinera.storage.engine import create_engine
from itinera.storage.schema import metadata

__all__ = ["INITIAL", "check", "config", "current", "head", "upgrade", "upgrade_connection"]

INITIAL = "0001"  # the revision that creates the tables of a store created before migrations
_LOCK = 7146873922  # PostgreSQL advisory lock: one upgrader at a time per database


def config(url: str | None = None, connection: sa.Connection | None = None) -> Config:
    """An Alembic configuration for Itinera's migrations, on ``connection`` (preferred) or
    ``url``; what ``alembic.command`` functions take."""
    result = Config()
    location = str(files("itinera.storage") / "migrations")
    result.set_main_option("script_location", location.replace("%", "%%"))
    result.set_main_option("path_separator", "os")
    if url is not None:
        result.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        result.attributes["connection"] = connection
    return result


@lru_cache(maxsize=1)
def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(config())


def head() -> str:
    """The latest revision of the package's migrations."""
    revision = _script().get_current_head()
    assert revision is not None
    return revision


@contextmanager
def _connect(url: str) -> Iterator[sa.Connection]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def _revision(connection: sa.Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade_connection(connection: sa.Connection, revision: str = "head") -> None:
    """``upgrade`` on an open connection, within its transaction (begun here if none is; the
    caller commits one it began)."""
    if revision == "head" and _revision(connection) == head():
        return  # the common case, a store reopened: no need to load the environment
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_LOCK})")
    alembic_config = config(connection=connection)
    if _revision(connection) is None:
        existing = set(sa.inspect(connection).get_table_names()) & set(metadata.tables)
        if existing:
            # Created by ``metadata.create_all`` before migrations: complete it as create_all
            # always did (missing tables only), and record it as the initial revision.
            metadata.create_all(connection, checkfirst=True)
            command.stamp(alembic_config, INITIAL)
    command.upgrade(alembic_config, revision)


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision`` (default: the latest); idempotent.

    A database created before migrations (by ``metadata.create_all``, e.g. by an earlier
    ``SqlStore``), which has Itinera's tables but no Alembic version, is not created again:
    its missing tables, if any, are created (as ``create_all`` always did) and it is stamped at
    the initial revision, ``INITIAL``; the later revisions then apply as to any database. On
    PostgreSQL, upgraders take turns (an advisory lock), so stores starting together are safe.
    """
    with _connect(url) as connection, connection.begin():
        upgrade_connection(connection, revision)


def current(url: str) -> str | None:
    """The revision of the database at ``url``; None when it is not under migrations."""
    with _connect(url) as connection:
        return _revision(connection)


def check(url: str) -> list[str]:
    """How the database at ``url`` differs from ``itinera.storage.schema`` (Alembic's
    autogenerate comparison: tables, columns, types, nullability, indexes, unique
    constraints), one line per difference; empty when they agree."""
    with _connect(url) as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "render_as_batch": True})
        return [_describe(diff) for diff in compare_metadata(context, metadata)]


def _name(item: Any) -> str:
    table = getattr(item, "table", None)
    name = getattr(item, "name", None) or type(item).__name__
    columns = ", ".join(c.name for c in getattr(item, "columns", ()))
    where = f" on {table.name}" if isinstance(table, sa.Table) else ""
    return f"{name}{where} ({columns})" if columns else f"{name}{where}"


def _describe(diff: Any) -> str:
    """One difference of ``compare_metadata`` as a line: ``add_table accounts``,
    ``remove_column accounts.extra``, ``modify_type accounts.csm: VARCHAR -> TEXT``..."""
    if isinstance(diff, list):  # the modify_* of one column come grouped
        return "; ".join(_describe(d) for d in diff)
    op = diff[0]
    if op.startswith("modify_"):
        _, _, table, column, _, old, new = diff
        return f"{op} {table}.{column}: {old!r} -> {new!r}"
    if op in ("add_column", "remove_column"):
        _, _, table, column = diff
        return f"{op} {table}.{column.name}"
    return f"{op} {_name(diff[1])}"
