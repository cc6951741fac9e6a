"""``itinera keys``: the API keys of a live service.

``create NAME`` prints the new key on standard output, once: the store keeps only its sha256,
so it cannot be shown again. ``list`` shows every key's id, name and state, never the key;
``revoke ID`` stops a key at once (exit 1 when there is no such active key). The database is
``--database URL``, else ``$ITINERA_DATABASE``, else ``sqlite:///itinera.db``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from itinera.cli.database import DEFAULT_DATABASE, Database, in_transaction, stderr
from itinera.storage import queries

__all__ = ["register"]

keys_app = typer.Typer(name="keys", no_args_is_help=True, add_completion=False,
                       help="Create, list and revoke the API keys of a live service.")


@keys_app.command("create")
def create(name: Annotated[str, typer.Argument(help="Who or what the key is for.")],
           database: Database = DEFAULT_DATABASE) -> None:
    """Create a key and print it (only this once)."""
    id, key = in_transaction(database, lambda c: queries.create_api_key(c, name, datetime.now(UTC)),
                             create=True)  # before the first `itinera serve`
    typer.echo(key)
    stderr().print(f"created key {id} ({name}); keep it now: it is not shown again",
                    markup=False)


@keys_app.command("list")
def list_keys(database: Database = DEFAULT_DATABASE) -> None:
    """List the keys: id, name, created, and revoked or active."""
    for key in in_transaction(database, queries.api_keys):
        state = f"revoked {key.revoked_at}" if key.revoked_at else "active"
        typer.echo(f"{key.id}\t{key.name}\t{key.created_at}\t{state}")


@keys_app.command("revoke")
def revoke(id: Annotated[str, typer.Argument(help="The key's id (from `itinera keys list`).")],
           database: Database = DEFAULT_DATABASE) -> None:
    """Revoke a key: requests with it are refused from now on."""
    if not in_transaction(database, lambda c: queries.revoke_api_key(c, id, datetime.now(UTC))):
        stderr().print(f"no active key {id!r}", markup=False)
        raise typer.Exit(1)
    typer.echo(f"revoked {id}")


def register(app: typer.Typer) -> None:
    """Add the ``keys`` command group to the main application."""
    app.add_typer(keys_app)
