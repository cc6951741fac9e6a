"""``itinera accounts``: accounts of a live store from a shell, as ``/api/accounts`` gives them.

``list`` finds accounts by id prefix or name, in the order they were added; ``show ID`` prints
one with its people, buying groups, segments and enrollments (``--json``: the API's document).
Only what the worker has applied is there; an unknown account exits with status 1.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from itinera.cli.database import DEFAULT_DATABASE, Database, in_transaction, stderr
from itinera.storage import views
from itinera.timeutil import format_instant

__all__ = ["register"]

accounts_app = typer.Typer(name="accounts", no_args_is_help=True, add_completion=False,
                           help="Find accounts and show one with its people, buying groups, "
                                "segments and enrollments.")
Json = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _out() -> Console:
    return Console(emoji=False, highlight=False, soft_wrap=True)


def _value(value: Any) -> str:
    """An attribute's value as written in JSON, strings bare."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


@accounts_app.command("list")
def list_accounts(
    search: Annotated[str, typer.Option(
        help="Only accounts whose id starts with this or whose name contains it (any case).")] = "",
    limit: Annotated[int, typer.Option(min=1, help="At most this many.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines.")] = False,
    database: Database = DEFAULT_DATABASE,
) -> None:
    """Accounts in the order they were added."""
    found = in_transaction(database, lambda c: views.find_accounts(c, search.strip(), limit))
    if as_json:
        for account in found:
            typer.echo(json.dumps(views.account_record(account), ensure_ascii=False))
        return
    if not found:
        stderr().print(f"no accounts match {search!r}" if search else "no accounts", markup=False)
        return
    table = Table("id", "name", "csm", "created")
    for account in found:
        table.add_row(account.id, _value(account.attributes.get("name", "")), account.csm or "",
                      format_instant(account.created_at))
    _out().print(table)


@accounts_app.command("show")
def show_account(
    id: Annotated[str, typer.Argument(help="The account's id.")],
    as_json: Json = False,
    database: Database = DEFAULT_DATABASE,
) -> None:
    """One account: attributes, people, buying groups, segments and enrollments."""
    found = in_transaction(database, lambda c: views.account_document(c, id))
    if found is None:
        stderr().print(f"no account {id!r}", markup=False)
        raise typer.Exit(1)
    if as_json:
        typer.echo(json.dumps(found, indent=2, ensure_ascii=False))
        return
    _print_account(_out(), found)


def _print_account(out: Console, account: dict[str, Any]) -> None:
    out.print(f"account {account['id']}", style="bold", markup=False)
    facts = Table("field", "value", show_header=False, box=None)
    facts.add_row("csm", account["csm"] or "-")
    facts.add_row("created", account["created_at"])
    facts.add_row("segments", ", ".join(account["segments"]) or "-")
    facts.add_row("playbooks", ", ".join(account["playbooks"]) or "-")
    for name, value in account["attributes"].items():
        facts.add_row(name, _value(value))
    for moment in account["moments"]:  # as add_moment writes them: type, description, at
        facts.add_row("moment", f"{moment.get('type')}: {moment.get('description')} ({moment.get('at')})")
    out.print(facts)
    if account["people"]:
        people = Table("person", "email", "score", "unsubscribed", title="people")
        for p in account["people"]:
            people.add_row(p["id"], p["email"] or "", f"{p['score']:g}",
                           "yes" if p["unsubscribed"] else "")
        out.print(people)
    if account["buying_groups"]:
        groups = Table("solution", "status", "engagement", "completeness", "members",
                       title="buying groups")
        for g in account["buying_groups"]:
            groups.add_row(g["solution"], g["status"] or "", f"{g['engagement_score']:g}",
                           f"{g['completeness_score']:g}",
                           "\n".join(f"{m['person']} ({m['role']})" for m in g["members"]))
        out.print(groups)
    if account["enrollments"]:
        enrollments = Table("id", "journey", "v", "status", "goal", "enrolled", "at",
                            title="enrollments")
        for e in account["enrollments"]:
            enrollments.add_row(str(e["id"]), e["journey"], str(e["version"]), e["status"],
                                "yes" if e["goal_achieved"] else "", e["enrolled_at"] or "",
                                e["path"][-1] if e["path"] else "")
        out.print(enrollments)


def register(app: typer.Typer) -> None:
    """Add the ``accounts`` command group to the main application."""
    app.add_typer(accounts_app)
