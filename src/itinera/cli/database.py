"""What the CLI's database commands share: the ``--database`` option and one transaction on it.

The database is ``--database URL``, else ``$ITINERA_DATABASE``, else ``sqlite:///itinera.db``;
opening it brings its schema up to date. A database error is printed and exits with status 2.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import sqlalchemy as sa
import typer
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from itinera.cli.db_cmd import DEFAULT_DATABASE
from itinera.errors import StoreError
from itinera.storage.engine import database_url
from itinera.storage.sql import SqlStore

__all__ = ["DEFAULT_DATABASE", "Database", "in_transaction", "stderr"]

Database = Annotated[
    str,
    typer.Option("--database", envvar="ITINERA_DATABASE",
                 help="SQLAlchemy URL (sqlite:///file.db, postgresql+psycopg://...)."),
]
_T = TypeVar("_T")


def stderr() -> Console:
    return Console(stderr=True, emoji=False, highlight=False, soft_wrap=True)


def in_transaction(database: str, action: Callable[[sa.Connection], _T], *,
                   create: bool = False) -> _T:
    """Run ``action`` in one transaction on ``database`` and return what it returns. A SQLite
    file that does not exist is an error (a typo would otherwise make an empty database and
    answer from it) unless ``create``."""
    try:
        url = sa.engine.make_url(database_url(database))
    except StoreError as error:
        stderr().print(f"--database: {error}", markup=False)
        raise typer.Exit(2) from None
    if (not create and url.get_backend_name() == "sqlite"
            and url.database not in (None, "", ":memory:") and not Path(url.database).exists()):
        stderr().print(f"no database at {url.database} (`itinera serve` or `itinera db upgrade` "
                       "creates one)", markup=False)
        raise typer.Exit(2)
    try:
        store = SqlStore(database, exclusive=False)
        try:
            with store.engine.begin() as connection:
                return action(connection)
        finally:
            store.close()
    except (SQLAlchemyError, StoreError) as error:
        stderr().print(f"database error: {error}", markup=False)
        raise typer.Exit(2) from None
