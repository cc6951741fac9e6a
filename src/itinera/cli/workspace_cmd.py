"""``itinera workspace``: the configuration journeys refer to, on a live store.

``apply FILE`` reads workspace data — segments, templates, CSMs, playbooks, role templates,
scoring rules, frequency caps, quiet hours — from a YAML or JSON file of those keys, or from a
scenario file's ``data`` (its accounts and people are left out), checks it (every problem with
its place, nothing stored) and hands it over like ``POST /api/inputs [{"configure": ...}]``.
Applying adds and updates by id; it removes nothing. ``show`` prints what is configured.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from sqlalchemy.exc import SQLAlchemyError

from itinera.cli.database import DEFAULT_DATABASE, Database, in_transaction, stderr
from itinera.cli.operator import cli_actor
from itinera.definitions.loader import load_workspace, read_document
from itinera.definitions.scenario import WorkspaceData
from itinera.errors import DefinitionError, ItineraError
from itinera.runtime.handoff import hand_over
from itinera.storage import queries
from itinera.storage.engine import shown_url

__all__ = ["register"]

workspace_app = typer.Typer(name="workspace", no_args_is_help=True, add_completion=False,
                            help="Apply and show the workspace: segments, templates, CSMs...")


@workspace_app.command("apply")
def apply(
    file: Annotated[Path, typer.Argument(help="Workspace data, or a scenario file (its data).")],
    wait: Annotated[float, typer.Option(
        help="Seconds to wait for a running server to apply it.")] = 10.0,
    database: Database = DEFAULT_DATABASE,
) -> None:
    """Add or update the workspace configuration in FILE."""
    try:
        load_workspace(file)  # every problem, with its place in the file
        raw: Any = read_document(file)
    except DefinitionError as error:
        for problem in error.problems:
            stderr().print(problem.in_file(file), markup=False)
        raise typer.Exit(2) from None
    except OSError as error:
        stderr().print(f"{file}: cannot read: {error.strerror or error}", markup=False)
        raise typer.Exit(2) from None
    body = raw.get("data", raw)
    payload = {k: v for k, v in body.items() if k in WorkspaceData.model_fields}
    try:
        done = hand_over(database, [{"configure": payload}], place=str(file), wait=wait,
                         actor=cli_actor())
    except DefinitionError as error:
        for problem in error.problems:
            stderr().print(str(problem), markup=False)
        raise typer.Exit(2) from None
    except (ItineraError, SQLAlchemyError, ValueError) as error:
        stderr().print(f"cannot use the database {shown_url(database)}: {error}", markup=False)
        raise typer.Exit(2) from None
    counts = ", ".join(f"{k.replace('_', ' ')} {len(v)}" for k, v in payload.items()
                       if isinstance(v, list | dict) and v)
    typer.echo(f"configured: {counts or 'nothing'}")
    stderr().print(f"applied by {done.by}" if done.applied
                   else f"stored; {done.by} has not applied it yet (it will)", markup=False)


@workspace_app.command("show")
def show(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
         database: Database = DEFAULT_DATABASE) -> None:
    """Print the workspace as configured (YAML, or JSON), in the form `apply` reads."""
    data = _trimmed(in_transaction(database, queries.workspace_document))
    if as_json:
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        typer.echo(yaml.safe_dump(data, sort_keys=False, allow_unicode=True).rstrip())


def _trimmed(value: Any) -> Any:
    """Without the keys left at nothing (null, empty lists), as one would write the file."""
    if isinstance(value, dict):
        return {k: _trimmed(v) for k, v in value.items() if v is not None and v != []}
    if isinstance(value, list):
        return [_trimmed(v) for v in value]
    return value


def register(app: typer.Typer) -> None:
    """Add the ``workspace`` command group to the main application."""
    app.add_typer(workspace_app)
