"""``itinera journeys versions|diff|rollback``: a live journey's version history from a shell.

``versions J`` lists every version with when and by whom; ``diff J A B`` prints what changed
from version A to B (nodes added, removed, changed; the journey's rules) and a unified diff of
the texts published; ``rollback J VERSION`` publishes that version again as the next one, as
any publish (checked against the workspace, handed over like ``journeys publish``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from itinera.cli.database import DEFAULT_DATABASE, Database, in_transaction, stderr
from itinera.cli.operator import cli_actor
from itinera.runtime.versions import diff, rollback_entry
from itinera.storage import drafts as store

__all__ = ["HandOver", "add_to"]

JourneyId = Annotated[str, typer.Argument(help="The journey's id.")]
Json = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _version(database: str, journey: str, number: int) -> dict[str, Any]:
    found = in_transaction(database, lambda c: store.journey_version(c, journey, number))
    if found is None:
        stderr().print(f"journey {journey!r} has no version {number}", markup=False)
        raise typer.Exit(1)
    return found


def versions(journey: JourneyId, as_json: Json = False,
             database: Database = DEFAULT_DATABASE) -> None:
    """Every published version of a journey: number, when, by whom."""
    found = in_transaction(database, lambda c: store.journey_versions(c, journey))
    if not found:
        stderr().print(f"no journey {journey!r}", markup=False)
        raise typer.Exit(1)
    if as_json:
        typer.echo(json.dumps(found, indent=2, ensure_ascii=False))
        return
    table = Table("version", "published at", "by")
    for row in found:
        table.add_row(str(row["version"]), row["published_at"] or "",
                      row["published_by"] or "-")
    Console(emoji=False, highlight=False, soft_wrap=True).print(table)


def version_diff(journey: JourneyId,
                 a: Annotated[int, typer.Argument(min=1, help="The version to compare from.")],
                 b: Annotated[int, typer.Argument(min=1, help="The version to compare to.")],
                 as_json: Json = False, database: Database = DEFAULT_DATABASE) -> None:
    """What changed from version A to version B of a journey, and the texts' unified diff."""
    changes = diff(journey, _version(database, journey, a), _version(database, journey, b))
    if as_json:
        typer.echo(json.dumps(changes, indent=2, ensure_ascii=False))
        return
    for what in ("added", "removed", "changed"):
        if changes["nodes"][what]:
            typer.echo(f"nodes {what}: {', '.join(changes['nodes'][what])}")
    for rule in changes["rules"]:
        typer.echo(f"{rule} changed")
    typer.echo(changes["yaml"], nl=False)


HandOver = Callable[[str, list[dict[str, Any]], str, float], None]


def add_to(app: typer.Typer, hand_over: HandOver) -> None:
    """Add ``versions``, ``diff`` and ``rollback`` to the ``journeys`` command group;
    ``hand_over`` stores and applies inputs as ``journeys publish`` does."""

    def rollback(journey: JourneyId,
                 version: Annotated[int, typer.Argument(
                     min=1, help="The version to publish again.")],
                 wait: Annotated[float, typer.Option(
                     help="Seconds to wait for a running server to apply the change.")] = 10.0,
                 database: Database = DEFAULT_DATABASE) -> None:
        """Publish an earlier version of a journey again as its next version (running
        enrollments stay on theirs)."""
        earlier = _version(database, journey, version)
        hand_over(database, [rollback_entry(earlier, cli_actor().label)], "rollback", wait)
        typer.echo(f"published version {version} of {journey} again")

    app.command("versions")(versions)
    app.command("diff")(version_diff)
    app.command("rollback")(rollback)
