"""``itinera tasks``: the Human Intervention Tasks journeys open, for the people who do them.

``list`` shows tasks (open ones by default; filter by assignee, account, status); ``complete ID``
marks one done, with an optional note; ``reassign ID ASSIGNEE`` gives it to someone else, keeping
who had it. The same queries serve ``/api/tasks``; an unknown task exits with status 1.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from itinera.cli.database import DEFAULT_DATABASE, Database, in_transaction, stderr
from itinera.cli.operator import cli_actor
from itinera.storage import audit, queries

__all__ = ["register"]

tasks_app = typer.Typer(name="tasks", no_args_is_help=True, add_completion=False,
                        help="List, complete and reassign Human Intervention Tasks.")


@tasks_app.command("list")
def list_tasks(
    assignee: Annotated[str | None, typer.Option(help="Only this assignee's tasks.")] = None,
    account: Annotated[str | None, typer.Option(help="Only this account's tasks.")] = None,
    status: Annotated[str, typer.Option(
        help="open (not completed), completed, or all.")] = "open",
    limit: Annotated[int, typer.Option(min=1, help="At most this many.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines.")] = False,
    database: Database = DEFAULT_DATABASE,
) -> None:
    """List tasks, oldest first."""
    if status not in ("open", "completed", "all"):
        stderr().print(f"--status: {status!r} is not open, completed or all", markup=False)
        raise typer.Exit(2)
    found = in_transaction(database, lambda c: queries.tasks(
        c, assignee=assignee, account=account, limit=limit,
        status=None if status == "all" else status))
    if as_json:
        for task in found:
            typer.echo(json.dumps(task, ensure_ascii=False))
        return
    if not found:
        stderr().print(f"no {'' if status == 'all' else status + ' '}tasks", markup=False)
        return
    table = Table()
    for name in ("id", "status", "title", "assignee", "due", "account", "journey"):
        table.add_column(name, overflow="fold")
    for task in found:
        table.add_row(str(task["id"]), _status(task), task["title"] or "", task["assignee"] or "",
                      str(task["due"] or ""), task["account"] or "", task["journey"] or "")
    Console(emoji=False, highlight=False, soft_wrap=True).print(table)


def _status(task: dict[str, Any]) -> str:
    return "completed" if task["status"] == "completed" else "open"


def _show(task: dict[str, Any] | None, id: int) -> None:
    if task is None:
        stderr().print(f"no task {id}", markup=False)
        raise typer.Exit(1)
    typer.echo(json.dumps(task, ensure_ascii=False))


@tasks_app.command("complete")
def complete(
    id: Annotated[int, typer.Argument(help="The task's id (from `itinera tasks list`).")],
    note: Annotated[str | None, typer.Option(help="What was done.")] = None,
    database: Database = DEFAULT_DATABASE,
) -> None:
    """Mark a task completed (completing it again changes nothing)."""
    _show(in_transaction(database, lambda c: audit.task_change(
        c, cli_actor(), "task_complete", id,
        lambda: queries.complete_task(c, id, datetime.now(UTC), note))), id)


@tasks_app.command("reassign")
def reassign(
    id: Annotated[int, typer.Argument(help="The task's id.")],
    assignee: Annotated[str, typer.Argument(help="Who does it now.")],
    database: Database = DEFAULT_DATABASE,
) -> None:
    """Give a task to someone else."""
    _show(in_transaction(database, lambda c: audit.task_change(
        c, cli_actor(), "task_reassign", id,
        lambda: queries.reassign_task(c, id, assignee, datetime.now(UTC)))), id)


def register(app: typer.Typer) -> None:
    """Add the ``tasks`` command group to the main application."""
    app.add_typer(tasks_app)
