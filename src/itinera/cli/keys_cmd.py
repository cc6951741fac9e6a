"""``itinera keys``: the API keys of a live service.

``create NAME --scope SCOPE`` prints the new key on standard output, once: the store keeps only
its sha256, so it cannot be shown again. The scope (``ingest``, ``bounces``, ``read``, ``write``, ``admin``;
docs/security.md) says what the key may do; without ``--scope`` it is ``admin``, the only kind
of key there was before scopes, so scripts that make keys keep working: give a key embedded in
a website ``--scope ingest``. ``list`` shows every key's id, name, scope and state, never the key;
``revoke ID`` stops a key at once (exit 1 when there is no such active key). The database is
``--database URL``, else ``$ITINERA_DATABASE``, else ``sqlite:///itinera.db``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

import sqlalchemy as sa
import typer

from itinera.cli.database import DEFAULT_DATABASE, Database, in_transaction, stderr
from itinera.cli.operator import cli_actor
from itinera.storage import audit, keys
from itinera.storage.keys import ApiKey

__all__ = ["register"]

class Scope(StrEnum):
    ingest = "ingest"
    bounces = "bounces"
    read = "read"
    write = "write"
    admin = "admin"


keys_app = typer.Typer(name="keys", no_args_is_help=True, add_completion=False,
                       help="Create, list and revoke the API keys of a live service.")


@keys_app.command("create")
def create(name: Annotated[str, typer.Argument(help="Who or what the key is for.")],
           scope: Annotated[Scope, typer.Option(
               help="What the key may do: ingest (tracking and bulk ingestion only: the key to "
                    "embed in a website), read (every read), write (read, ingest, run journeys, "
                    "tasks, deliveries), admin (everything).")] = Scope.admin,
           rate_limit: Annotated[float | None, typer.Option(
               min=0.001, help="Requests per second on /v1 and the bulk ingestion routes (an "
                               "ingest key without one has `itinera serve --ingest-rate`).")
           ] = None,
           database: Database = DEFAULT_DATABASE) -> None:
    """Create a key and print it (only this once)."""
    def create_key(connection: sa.Connection) -> tuple[str, str]:
        id, key = keys.create_api_key(connection, name, datetime.now(UTC), scope.value,
                                      rate_limit=rate_limit)
        audit.record(connection, cli_actor(), "key_create", ("key", id),
                     after={"name": name, "scope": scope.value, "rate_limit": rate_limit})
        return id, key

    id, key = in_transaction(database, create_key, create=True)  # before the first `serve`
    typer.echo(key)
    stderr().print(f"created key {id} ({name}, scope {scope.value}); keep it now: it is not "
                   "shown again", markup=False)


@keys_app.command("list")
def list_keys(database: Database = DEFAULT_DATABASE) -> None:
    """List the keys: id, name, scope, created, and revoked or active."""
    for key in in_transaction(database, keys.api_keys):
        state = f"revoked {key.revoked_at}" if key.revoked_at else "active"
        typer.echo(f"{key.id}\t{key.name}\t{key.scope}\t{key.created_at}\t{state}")


@keys_app.command("revoke")
def revoke(id: Annotated[str, typer.Argument(help="The key's id (from `itinera keys list`).")],
           database: Database = DEFAULT_DATABASE) -> None:
    """Revoke a key: requests with it are refused from now on, its UI sessions end."""
    def revoke_key(connection: sa.Connection) -> bool:
        found: ApiKey | None = next((k for k in keys.api_keys(connection) if k.id == id), None)
        revoked = keys.revoke_api_key(connection, id, datetime.now(UTC))
        if revoked and found is not None:
            audit.record(connection, cli_actor(), "key_revoke", ("key", id),
                         before={"name": found.name, "scope": found.scope, "revoked": False},
                         after={"revoked": True})
        return revoked

    if not in_transaction(database, revoke_key):
        stderr().print(f"no active key {id!r}", markup=False)
        raise typer.Exit(1)
    typer.echo(f"revoked {id}")


def register(app: typer.Typer) -> None:
    """Add the ``keys`` command group to the main application."""
    app.add_typer(keys_app)
