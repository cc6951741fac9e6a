"""``itinera deliveries``: the outbox from a shell — what went out, what waits, what failed.

``list`` filters by status (``dead`` for the dead letters), channel, account and journey;
``show ID`` prints one with its whole payload; ``retry ID...`` (or ``--all-dead``) sends dead
deliveries back to pending, due now, for a running dispatcher to try again.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.table import Table

from itinera.cli.database import DEFAULT_DATABASE, Database, in_transaction, stderr
from itinera.storage import outbox

__all__ = ["register"]

_STATUSES = ("pending", "sending", "delivered", "skipped", "dead", "sent", "completed")
_CHANNELS = ("email", "webhook", "task", "campaign")
deliveries_app = typer.Typer(name="deliveries", no_args_is_help=True, add_completion=False,
                             help="List deliveries (dead letters too), show one, retry dead ones.")


@deliveries_app.command("list")
def list_deliveries(
    status: Annotated[str | None, typer.Option(
        help="pending, sending, delivered, skipped, dead, sent (sandbox) or completed.")] = None,
    channel: Annotated[str | None, typer.Option(help="email, webhook, task or campaign.")] = None,
    account: Annotated[str | None, typer.Option(help="Only this account's.")] = None,
    journey: Annotated[str | None, typer.Option(help="Only this journey's.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines.")] = False,
    database: Database = DEFAULT_DATABASE,
) -> None:
    """Deliveries matching every filter given, oldest first."""
    for option, value, allowed in (("--status", status, _STATUSES), ("--channel", channel, _CHANNELS)):
        if value is not None and value not in allowed:
            stderr().print(f"{option}: {value!r} is not one of {', '.join(allowed)}", markup=False)
            raise typer.Exit(2)
    found = in_transaction(database, lambda c: outbox.deliveries(
        c, status=status, channel=channel, account=account, journey=journey, limit=limit))
    if as_json:
        for item in found:
            typer.echo(json.dumps(item, ensure_ascii=False))
        return
    table = Table(show_lines=False)
    for name in ("id", "channel", "status", "to", "account", "journey", "at", "attempts",
                 "why"):
        table.add_column(name, overflow="fold")
    for d in found:
        why = d["reason"] if d["status"] == "skipped" else d["last_error"]
        table.add_row(str(d["id"]), d["channel"], d["status"], d["target"] or "",
                      d["account"] or "", d["journey"] or "", d["at"], str(d["attempts"]),
                      (why or "")[:80])
    Console(emoji=False, highlight=False, soft_wrap=True).print(table)


@deliveries_app.command("show")
def show(id: Annotated[int, typer.Argument(help="The delivery's id.")],
         database: Database = DEFAULT_DATABASE) -> None:
    """One delivery with its whole payload, as JSON."""
    found = in_transaction(database, lambda c: outbox.delivery(c, id))
    if found is None:
        stderr().print(f"no delivery {id}", markup=False)
        raise typer.Exit(1)
    typer.echo(json.dumps(found, indent=2, ensure_ascii=False))


@deliveries_app.command("retry")
def retry(
    ids: Annotated[list[int] | None, typer.Argument(help="Dead deliveries to try again.")] = None,
    all_dead: Annotated[bool, typer.Option("--all-dead", help="Every dead delivery.")] = False,
    database: Database = DEFAULT_DATABASE,
) -> None:
    """Send dead deliveries back to pending, due now; exit 1 if one of them is not dead."""
    if not ids and not all_dead:
        stderr().print("name the deliveries to retry, or --all-dead", markup=False)
        raise typer.Exit(2)

    def run(connection: sa.Connection) -> tuple[list[int], list[int]]:
        now = datetime.now(UTC)
        chosen = list(ids or [])
        if all_dead:
            chosen += [d["id"] for d in outbox.deliveries(connection, status="dead",
                                                          limit=1_000_000)]
        retried: list[Any] = [outbox.retry(connection, id, now) for id in chosen]
        return ([id for id, r in zip(chosen, retried, strict=True) if r is not None],
                [id for id, r in zip(chosen, retried, strict=True) if r is None])

    retried, refused = in_transaction(database, run)
    for id in retried:
        typer.echo(f"retrying {id}")
    for id in refused:
        stderr().print(f"no dead delivery {id}", markup=False)
    if refused:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the ``deliveries`` command group to the main application."""
    app.add_typer(deliveries_app)
