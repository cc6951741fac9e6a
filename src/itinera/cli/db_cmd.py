"""``itinera db``: the schema of a persistent store, managed by Alembic migrations.

``upgrade`` brings the database to the latest revision (a database created before migrations
is stamped at the initial one first), ``current`` prints its revision and ``check`` lists how it
differs from the schema this version of Itinera expects, one difference per line on standard
output (exit 1 when there is any). The database is ``--database URL``, else
``$ITINERA_DATABASE``, else ``sqlite:///itinera.db``. Exit 2 when the database cannot be used.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

import typer
from alembic.util import CommandError
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from itinera.storage import migrate

__all__ = ["DEFAULT_DATABASE", "register"]

DEFAULT_DATABASE = "sqlite:///itinera.db"
UNUSABLE = 2

Database = Annotated[
    str,
    typer.Option("--database", envvar="ITINERA_DATABASE",
                 help="SQLAlchemy URL (sqlite:///file.db, postgresql+psycopg://...)."),
]

db_app = typer.Typer(name="db", no_args_is_help=True, add_completion=False,
                     help="Create and upgrade a store's schema (Alembic migrations).")

_T = TypeVar("_T")


def _run(action: Callable[[], _T]) -> _T:
    try:
        return action()
    except (SQLAlchemyError, CommandError) as error:
        Console(stderr=True, emoji=False, highlight=False, soft_wrap=True).print(
            f"database error: {error}", markup=False)
        raise typer.Exit(UNUSABLE) from None


@db_app.command("upgrade")
def upgrade(
    database: Database = DEFAULT_DATABASE,
    revision: Annotated[str, typer.Option(help="The revision to upgrade to.")] = "head",
) -> None:
    """Bring the database's schema to the latest revision (creating it if empty)."""
    _run(lambda: migrate.upgrade(database, revision))
    typer.echo(f"at {_run(lambda: migrate.current(database))}")


@db_app.command("current")
def current(database: Database = DEFAULT_DATABASE) -> None:
    """Print the database's revision ("none" when it is not under migrations)."""
    revision = _run(lambda: migrate.current(database))
    typer.echo(revision if revision is not None else "none")


@db_app.command("check")
def check(database: Database = DEFAULT_DATABASE) -> None:
    """List how the database differs from the expected schema; exit 1 if it does."""
    differences = _run(lambda: migrate.check(database))
    for line in differences:
        typer.echo(line)
    if differences:
        Console(stderr=True, emoji=False, highlight=False, soft_wrap=True).print(
            f"{len(differences)} difference(s): run `itinera db upgrade`", markup=False)
        raise typer.Exit(1)
    typer.echo(f"in sync ({migrate.head()})")


def register(app: typer.Typer) -> None:
    """Add the ``db`` command group to the main application."""
    app.add_typer(db_app)
