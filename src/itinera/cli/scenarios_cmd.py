"""``itinera scenarios``: the scenario files kept in a live service's workspace, which the
studio runs against draft journeys ("Test before publish").

``add FILE`` keeps the scenario with the files it names (``journey_files``, ``workspace``),
read from its folder, under ``--name`` (default: the file's name without ``.scenario.yaml``),
replacing one of that name; it must be valid (``itinera validate``'s problems are printed,
exit 2). ``list`` shows each one's name and the journeys it runs; ``remove NAME`` forgets one
(exit 1 when there is none). The database is ``--database URL``, else ``$ITINERA_DATABASE``,
else ``sqlite:///itinera.db``.
"""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from itinera.cli.database import DEFAULT_DATABASE, Database, in_transaction, stderr
from itinera.definitions.loader import parse_document
from itinera.domain.actor import Actor
from itinera.errors import DefinitionError
from itinera.studio.scenarios import (
    MAX_FILES,
    ScenarioProblem,
    add_scenario,
    list_scenarios,
    remove_scenario,
)

__all__ = ["register", "scenario_files"]

scenarios_app = typer.Typer(name="scenarios", no_args_is_help=True, add_completion=False,
                            help="Keep scenario files in the workspace, to test drafts with.")


def scenario_files(path: Path, text: str) -> dict[str, str]:
    """The files a scenario names (its ``journey_files`` and ``workspace``), read from its
    folder, by the names it uses; a file that cannot be read raises ``OSError``."""
    try:
        raw: Any = parse_document(text, path.name)
    except DefinitionError:
        return {}  # adding it says what is wrong
    names = raw.get("journey_files", []) if isinstance(raw, dict) else []
    names = [n for n in (names if isinstance(names, list) else []) if isinstance(n, str)]
    if isinstance(raw, dict) and isinstance(raw.get("workspace"), str):
        names.append(raw["workspace"])
    return {name: (path.parent / name).read_text(encoding="utf-8")
            for name in dict.fromkeys(names[:MAX_FILES + 1])}


def _name(path: Path) -> str:
    name = path.name
    for suffix in (".scenario.yaml", ".scenario.yml", ".scenario.json", ".yaml", ".yml", ".json"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


@scenarios_app.command("add")
def add(file: Annotated[Path, typer.Argument(help="A scenario file (YAML or JSON).")],
        name: Annotated[str | None, typer.Option(help="The name to keep it under.")] = None,
        database: Database = DEFAULT_DATABASE) -> None:
    """Keep a scenario (with the files it names) in the workspace, replacing one of its name."""
    try:
        text = file.read_text(encoding="utf-8")
        files = scenario_files(file, text)
    except (OSError, UnicodeDecodeError) as error:
        stderr().print(f"{file}: {error}", markup=False)
        raise typer.Exit(2) from None
    actor = Actor("cli", getpass.getuser(), getpass.getuser())
    kept_name = name or _name(file)
    try:
        kept = in_transaction(database, lambda c: add_scenario(
            c, kept_name, text, files, actor, datetime.now(UTC)))
    except ScenarioProblem as error:
        for problem in error.problems:
            stderr().print(problem.in_file(file), markup=False)
        raise typer.Exit(2) from None
    typer.echo(f"kept scenario {kept.name} (journeys: {', '.join(kept.journeys) or 'none'})")


@scenarios_app.command("list")
def list_command(database: Database = DEFAULT_DATABASE) -> None:
    """List the kept scenarios: name, the journeys they run, when and by whom added."""
    for kept in in_transaction(database, list_scenarios):
        summary = kept.summary()
        typer.echo(f"{kept.name}\t{','.join(kept.journeys)}\t{summary['added_at']}\t"
                   f"{kept.added_by}")


@scenarios_app.command("remove")
def remove(name: Annotated[str, typer.Argument(help="The scenario's name.")],
           database: Database = DEFAULT_DATABASE) -> None:
    """Forget a kept scenario."""
    if not in_transaction(database, lambda c: remove_scenario(c, name)):
        stderr().print(f"no scenario {name!r}", markup=False)
        raise typer.Exit(1)
    typer.echo(f"removed {name}")


def register(app: typer.Typer) -> None:
    """Add the ``scenarios`` command group to the main application."""
    app.add_typer(scenarios_app)
