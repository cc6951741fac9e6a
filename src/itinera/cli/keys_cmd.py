"""``itinera keys``: the API keys of a live service.

``create NAME`` prints the new key on standard output, once: the store keeps only its sha256,
so it cannot be shown again. ``list`` shows every key's id, name and state, never the key;
``revoke ID`` stops a key at once (exit 1 when there is no such active key). The database is
``--database URL``, else ``$ITINERA_DATABASE``, else ``sqlite:///itinera.db``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, TypeVar

import sqlalchemy as sa
import typer
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from itinera.cli.db_cmd import DEFAULT_DATABASE
from itinera.storage import queries
from itinera.storage.sql import SqlStore

__all__ = ["register"]

Database = Annotated[
    str,
    typer.Option("--database", envvar="ITINERA_DATABASE",
                 help="SQLAlchemy URL (sqlite:///file.db, postgresql+psycopg://...)."),
]
keys_app = typer.Typer(name="keys", no_args_is_help=True, add_completion=False,
                       help="Create, list and revoke the API keys of a live service.")
_T = TypeVar("_T")


def _stderr() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


@contextmanager
def _transaction(database: str) -> Iterator[sa.Connection]:
    store = SqlStore(database, exclusive=False)  # brings the schema up to date
    try:
        with store.engine.begin() as connection:
            yield connection
    finally:
        store.close()


def _run(database: str, action: Callable[[sa.Connection], _T]) -> _T:
    try:
        with _transaction(database) as connection:
            return action(connection)
    except SQLAlchemyError as error:
        _stderr().print(f"database error: {error}", markup=False)
        raise typer.Exit(2) from None


@keys_app.command("create")
def create(name: Annotated[str, typer.Argument(help="Who or what the key is for.")],
           database: Database = DEFAULT_DATABASE) -> None:
    """Create a key and print it (only this once)."""
    id, key = _run(database, lambda c: queries.create_api_key(c, name, datetime.now(UTC)))
    typer.echo(key)
    _stderr().print(f"created key {id} ({name}); keep it now: it is not shown again",
                    markup=False)


@keys_app.command("list")
def list_keys(database: Database = DEFAULT_DATABASE) -> None:
    """List the keys: id, name, created, and revoked or active."""
    for key in _run(database, queries.api_keys):
        state = f"revoked {key.revoked_at}" if key.revoked_at else "active"
        typer.echo(f"{key.id}\t{key.name}\t{key.created_at}\t{state}")


@keys_app.command("revoke")
def revoke(id: Annotated[str, typer.Argument(help="The key's id (from `itinera keys list`).")],
           database: Database = DEFAULT_DATABASE) -> None:
    """Revoke a key: requests with it are refused from now on."""
    if not _run(database, lambda c: queries.revoke_api_key(c, id, datetime.now(UTC))):
        _stderr().print(f"no active key {id!r}", markup=False)
        raise typer.Exit(1)
    typer.echo(f"revoked {id}")


def register(app: typer.Typer) -> None:
    """Add the ``keys`` command group to the main application."""
    app.add_typer(keys_app)
