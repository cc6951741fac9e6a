"""``itinera explain ACCOUNT --journey J``: why an account is or is not in a journey, from a live
store — the document ``GET /api/accounts/{id}/explain`` gives (``runtime.why``), in words or
(``--json``) as it is.

Exit status 0 answered, 1 for an unknown account or journey, 2 for an unusable database or
``--at``, each said on standard error.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from itinera.cli.database import DEFAULT_DATABASE, Database, in_transaction, stderr
from itinera.runtime.why import NotFound, why
from itinera.timeutil import parse_instant

__all__ = ["register"]


def explain(
    account: Annotated[str, typer.Argument(help="The account's id.")],
    journey: Annotated[str, typer.Option("--journey", "-j", help="The journey's id.")],
    at: Annotated[str | None, typer.Option(
        help="Answer as of this instant (ISO 8601, e.g. 2026-03-02T09:00:00Z); default now.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON document.")] = False,
    database: Database = DEFAULT_DATABASE,
) -> None:
    """Why an account is or is not in a journey: entry, re-entry, status, next change."""
    try:
        now = datetime.now(UTC) if at is None else parse_instant(at)
    except ValueError as error:
        stderr().print(f"--at: {error}", markup=False)
        raise typer.Exit(2) from None

    def answer(connection: Any) -> dict[str, Any] | str:
        try:
            return why(connection, account, journey, now)
        except NotFound as error:
            return str(error)

    found = in_transaction(database, answer)
    if isinstance(found, str):
        stderr().print(found, markup=False)
        raise typer.Exit(1)
    if as_json:
        typer.echo(json.dumps(found, indent=2, ensure_ascii=False))
        return
    _print(Console(emoji=False, highlight=False, soft_wrap=True), found)


def _condition_rows(table: Table, name: str, condition: dict[str, Any]) -> None:
    table.add_row(name, f"{'holds' if condition['holds'] else 'does not hold'}: "
                        f"{condition['condition'] or '(no such segment)'}")
    for i, clause in enumerate(condition["clauses"]):
        mark = "✓" if clause["holds"] else "✗"
        decided = " ← decided" if i == condition["deciding"] else ""
        values = ", ".join(f"{k} = {json.dumps(v, ensure_ascii=False)}"
                           for k, v in clause["values"].items())
        table.add_row("", f"{mark} {clause['condition']}" + (f" ({values})" if values else "")
                      + decided)


def _print(out: Console, doc: dict[str, Any]) -> None:
    out.print(f"account {doc['account']} in journey {doc['journey']} "
              f"(version {doc['version']}, {doc['status']}) at {doc['at']}", style="bold",
              markup=False)
    out.print(doc["summary"], markup=False)
    table = Table("", "", show_header=False, box=None)
    for segment in doc["entry"]["segments"]:
        _condition_rows(table, f"segment {segment['id']}", segment)
    event = doc["entry"]["event"]
    if event is not None:
        latest = event["latest"]
        table.add_row(f"event {event['type']}",
                      (f"where {event['where']}: " if event["where"] else "")
                      + ("none has arrived" if latest is None else
                         f"{event['count']} arrived, the last {latest['at']} ({latest['id']})"))
    again = doc["reenroll"]
    table.add_row("re-entry", f"{again['rule']}: {'allowed' if again['allowed'] else 'refused'}"
                              f" — {again['reason']}")
    for key in ("goal", "exit"):
        if doc[key] is not None:
            _condition_rows(table, key, doc[key])
    table.add_row("next change", doc["next_change"] or "never by time alone")
    out.print(table)
    if doc["enrollments"]:
        enrollments = Table("id", "v", "status", "enrolled", "ended", "reason",
                            title="enrollments in this journey")
        for e in doc["enrollments"]:
            enrollments.add_row(str(e["id"]), str(e["version"]), e["status"], e["enrolled_at"] or "",
                                e["ended_at"] or "", e["reason"] or "")
        out.print(enrollments)


def register(app: typer.Typer) -> None:
    """Add the ``explain`` command to the main application."""
    app.command("explain")(explain)
