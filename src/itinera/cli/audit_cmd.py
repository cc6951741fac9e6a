"""``itinera audit``: the audit log, newest first, with the filters of the UI and the API.

``--actor`` matches the label (``key:ci``, ``user:ana``, ``cli:root``), the name or the id;
``--object KIND[:ID]`` the object (``journey:onboarding``, ``template``); ``--kind`` the change
(``publish``, ``approve``...); ``--since``/``--until`` instants (ISO 8601) or durations back
from now (``7d``). ``--json`` prints one entry per line, with before and after.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from itinera.cli.database import DEFAULT_DATABASE, Database, in_transaction, stderr
from itinera.storage import audit
from itinera.timeutil import parse_duration, parse_instant

__all__ = ["register", "when"]


def when(value: str | None, option: str, now: datetime) -> datetime | None:
    """An instant (ISO 8601), or a duration back from ``now`` (``7d``, ``2h``)."""
    if value is None or not value.strip():
        return None
    try:
        return parse_instant(value)
    except ValueError:
        pass
    try:
        return now - parse_duration(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is neither an instant (2026-12-01T09:00:00Z) nor "
                                 "a duration back from now (7d)", param_hint=option) from None


def show(
    actor: Annotated[str | None, typer.Option(help="Who: key:NAME, user:NAME, cli:NAME, or an id.")] = None,
    object: Annotated[str | None, typer.Option(
        "--object", help="What: KIND or KIND:ID (journey:onboarding, template:welcome).")] = None,
    kind: Annotated[str | None, typer.Option(help="The change: publish, approve, key_create...")] = None,
    since: Annotated[str | None, typer.Option(help="From this instant, or this long ago (7d).")] = None,
    until: Annotated[str | None, typer.Option(help="Before this instant, or this long ago.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines, with before and after.")] = False,
    database: Database = DEFAULT_DATABASE,
) -> None:
    """Show the audit log: who changed what, when, from where.

    Newest first."""
    now = datetime.now(UTC)
    object_kind, _, object_id = (object or "").partition(":")
    filters = audit.Filters(actor=actor or None, object_kind=object_kind or None,
                            object_id=object_id or None, kind=kind or None,
                            since=when(since, "--since", now), until=when(until, "--until", now))
    found = in_transaction(database, lambda c: audit.entries(c, filters, limit))
    if as_json:
        for entry in found:
            typer.echo(json.dumps(entry, ensure_ascii=False))
        return
    if not found:
        stderr().print("no audit entries", markup=False)
        return
    table = Table()
    for name in ("id", "at", "who", "from", "kind", "object"):
        table.add_column(name, overflow="fold")
    for entry in found:
        table.add_row(str(entry["id"]), entry["at"], entry["actor"]["label"],
                      entry["address"] or "", entry["kind"],
                      f"{entry['object']['kind']}:{entry['object']['id']}")
    Console(emoji=False, highlight=False, soft_wrap=True).print(table)


def register(app: typer.Typer) -> None:
    """Add the ``audit`` command to the main application."""
    app.command("audit")(show)
