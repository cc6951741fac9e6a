"""``itinera journeys`` and ``itinera enrollments``: the live journeys from a shell.

``journeys publish FILE... [--enable] [--move OLD=NEW] [--move-matching]`` checks each file
against the workspace as stored and publishes a new version (moving in-flight enrollments when
asked); ``journeys impact FILE`` previews what a publish would do with them;
``enable|pause|resume|disable ID`` changes a journey's state; ``list`` and ``show`` read them;
``versions``, ``diff`` and ``rollback`` (``cli.versions_cmd``) their history. Writes are
inputs handed over like the API's (``runtime.handoff``): with no server running this process
applies them, else the server does. ``enrollments list`` filters by journey, account
and status; ``enrollments show ID`` prints the enrollment's whole history, each node visit and
decision with the values that decided it.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from itinera.cli import versions_cmd
from itinera.cli.database import DEFAULT_DATABASE, Database, in_transaction, stderr
from itinera.cli.operator import cli_actor
from itinera.definitions.loader import read_document
from itinera.definitions.models import Journey
from itinera.errors import DefinitionError, ItineraError, Problem
from itinera.runtime.checks import LIFECYCLE, Refs
from itinera.runtime.handoff import hand_over
from itinera.runtime.impact import Impact, impact, parse_moves
from itinera.storage import queries
from itinera.storage.engine import shown_url
from itinera.timeutil import format_instant

__all__ = ["register"]

journeys_app = typer.Typer(name="journeys", no_args_is_help=True, add_completion=False,
                           help="Publish, enable, pause, resume, disable and list live journeys.")
enrollments_app = typer.Typer(name="enrollments", no_args_is_help=True, add_completion=False,
                              help="List enrollments and show one with its decision history.")
_STATUSES = ("active", "completed", "exited", "unenrolled")
Json = Annotated[bool, typer.Option("--json", help="Print JSON.")]
Wait = Annotated[float, typer.Option(
    help="Seconds to wait for a running server to apply the change.")]
Move = Annotated[list[str] | None, typer.Option(
    "--move", help="OLD=NEW: move the enrollments waiting at OLD to the new version's NEW "
    "(repeatable; OLD= keeps OLD's).")]
MoveMatching = Annotated[bool, typer.Option(
    "--move-matching", help="Move the enrollments at every node the new version keeps by id.")]


def _out() -> Console:
    return Console(emoji=False, highlight=False, soft_wrap=True)


def _hand_over(database: str, entries: list[dict[str, Any]], place: str, wait: float,
               files: list[Path] | None = None) -> None:
    """``files``: the file each entry came from, to say where its problems are."""
    try:
        done = hand_over(database, entries, place=place, wait=wait, actor=cli_actor())
    except DefinitionError as error:
        for line in _in_files(error.problems, files) if files else map(str, error.problems):
            stderr().print(line, markup=False)
        stderr().print("nothing was stored", markup=False)
        raise typer.Exit(2) from None
    except (ItineraError, SQLAlchemyError, ValueError) as error:
        stderr().print(f"cannot use the database {shown_url(database)}: {error}", markup=False)
        raise typer.Exit(2) from None
    if done.applied:
        stderr().print(f"applied by {done.by}", markup=False)
    else:
        stderr().print(f"stored; {done.by} has not applied it yet (it will)", markup=False)


def _in_files(problems: list[Problem], files: list[Path]) -> list[str]:
    """``publish[3].publish.nodes.a.next: ...`` → ``b.yaml: nodes.a.next: ...``; an ``enable``
    of a journey whose file has problems is left out: it fails only because of them."""
    lines, broken = [], set()
    for problem in problems:
        found = re.fullmatch(r"publish\[(\d+)\]\.(publish|enable)\.?(.*)", problem.place)
        if found is None:
            lines.append(str(problem))
            continue
        file = files[int(found[1])]
        if found[2] == "publish":
            broken.add(file)
            lines.append(Problem(found[3], problem.message).in_file(file))
        elif file not in broken:
            lines.append(Problem("enable", problem.message).in_file(file))
    return lines


@journeys_app.command("publish")
def publish(
    files: Annotated[list[Path], typer.Argument(help="Journey files (YAML or JSON).")],
    enable: Annotated[bool, typer.Option("--enable", help="Enable each once published.")] = False,
    force: Annotated[bool, typer.Option(
        "--force", help="Publish a new version even of a journey that has not changed.")] = False,
    move: Move = None,
    move_matching: MoveMatching = False,
    wait: Wait = 10.0,
    database: Database = DEFAULT_DATABASE,
) -> None:
    """Publish a new version of each journey that changed (running enrollments keep theirs,
    unless --move/--move-matching move them: see `itinera journeys impact`); all or none. A
    file equal to the journey's current version publishes nothing, so running this on every
    deploy makes versions only of what changed."""
    moves = _moves(move)
    if moves and len(files) > 1:
        stderr().print("--move names the nodes of one journey: publish one file with it",
                       markup=False)
        raise typer.Exit(2)
    moving: dict[str, Any] = ({"moves": moves, "move_matching": move_matching}
                              if moves or move_matching else {})
    current = {} if force else in_transaction(database, queries.current_definitions, create=True)
    entries: list[dict[str, Any]] = []
    origins: list[Path] = []  # the file of each entry
    unchanged: list[str] = []
    for path in files:
        try:
            raw = read_document(path)
        except DefinitionError as error:  # cannot read it, or not YAML
            for problem in error.problems:
                stderr().print(problem.in_file(path), markup=False)
            raise typer.Exit(2) from None
        if isinstance(raw, dict) and _same(raw, current.get(str(raw.get("id")))):
            unchanged.append(str(raw["id"]))
        else:
            # The file as written (comments included) and who published it, kept with the
            # version for its history and diffs; read_document bounded its size already.
            source = path.read_text(encoding="utf-8", errors="replace")
            entries.append({"publish": raw, "source": source, "by": cli_actor().label} | moving)
            origins.append(path)
        if enable and isinstance(raw, dict):
            entries.append({"enable": raw.get("id")})
            origins.append(path)
    if entries:
        _hand_over(database, entries, "publish", wait, origins)
    for journey in unchanged:
        typer.echo(f"unchanged {journey} (version {current[journey][0]})")
    for entry in entries:
        kind, payload = ("publish", entry["publish"]) if "publish" in entry else next(
            iter(entry.items()))
        typer.echo(f"{'published' if kind == 'publish' else 'enabled'} "
                   f"{payload['id'] if kind == 'publish' else payload}")


def _moves(items: list[str] | None) -> dict[str, str | None]:
    try:
        return parse_moves(items or [])
    except ValueError as error:
        stderr().print(f"--move: {error}", markup=False)
        raise typer.Exit(2) from None


@journeys_app.command("impact")
def impact_of(
    file: Annotated[Path, typer.Argument(help="The journey file to publish (YAML or JSON).")],
    move: Move = None,
    move_matching: MoveMatching = False,
    as_json: Json = False,
    database: Database = DEFAULT_DATABASE,
) -> None:
    """What publishing FILE now would do with the journey's active enrollments: by version and
    node, stay (the default) or move (--move OLD=NEW, --move-matching) with the new due
    instants; nodes no move maps are flagged. Publishes nothing."""
    moves = _moves(move)
    try:
        raw = read_document(file)
    except DefinitionError as error:
        for problem in error.problems:
            stderr().print(problem.in_file(file), markup=False)
        raise typer.Exit(2) from None

    def read(connection: Any) -> tuple[list[Problem], Impact | None]:
        problems: list[Problem] = []
        Refs(connection).check_journey(raw, "", problems)
        if problems:
            return problems, None
        return [], impact(connection, Journey.model_validate(raw), moves, move_matching,
                          datetime.now(UTC))

    problems, found = in_transaction(database, read)
    if found is None:
        for problem in problems:
            stderr().print(problem.in_file(file), markup=False)
        raise typer.Exit(2)
    if as_json:
        typer.echo(json.dumps(found.as_json(), indent=2, ensure_ascii=False))
        return
    _print_impact(found)


def _print_impact(found: Impact) -> None:
    out = _out()
    totals = found.totals
    out.print(f"{found.journey}: version {found.current_version or '-'} → "
              f"{found.next_version}; {totals['active']} active, {totals['moving']} would "
              f"move, {totals['staying']} stay", markup=False)
    table = Table("version", "node", "enrollments", "does", "to", "due now", "new due", "note")
    for g in found.groups:
        span = " – ".join(dict.fromkeys(
            format_instant(d) or "?" for d in g.new_due)) if g.action == "move" else ""
        table.add_row(str(g.version), g.node, str(g.enrollments), g.action, g.to or "",
                      str(g.due_now) if g.action == "move" else "", span, g.reason or "")
    out.print(table)
    for node, why in found.plan.flagged.items():
        out.print(f"flagged {node}: {why}", markup=False)
    for place, message in found.plan.problems:
        stderr().print(f"{place}: {message}", markup=False)


def _same(raw: dict[str, Any], current: tuple[int, dict[str, Any]] | None) -> bool:
    """Whether ``raw`` is the definition stored as the current version (in the form stored)."""
    if current is None:
        return False
    try:
        stored = Journey.model_validate(raw).model_dump(mode="json", by_alias=True,
                                                        exclude_none=True)
    except ValidationError:
        return False  # invalid: publishing reports why
    return _without_version(stored) == _without_version(current[1])


def _without_version(definition: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in definition.items() if k != "version"}


def _lifecycle(kind: str) -> None:
    def command(journey: Annotated[str, typer.Argument(help="The journey's id.")],
                wait: Wait = 10.0, database: Database = DEFAULT_DATABASE) -> None:
        _hand_over(database, [{kind: journey}], kind, wait)
        typer.echo(f"{kind}d {journey}" if kind.endswith("e") else f"{kind}ed {journey}")

    command.__doc__ = {
        "enable": "Enable a journey: it enrolls (with entry.existing, accounts already in it).",
        "pause": "Pause a journey: no new enrollments, no steps; due timers are held.",
        "resume": "Resume a paused journey: held timers run now, in due order.",
        "disable": "Disable a journey: no new enrollments; active ones are unenrolled.",
    }[kind]
    journeys_app.command(kind)(command)


for _kind in LIFECYCLE:
    _lifecycle(_kind)


@journeys_app.command("list")
def list_journeys(as_json: Json = False, database: Database = DEFAULT_DATABASE) -> None:
    """Every published journey: status, current version, versions."""
    found = in_transaction(database, queries.journeys)
    if as_json:
        typer.echo(json.dumps(found, indent=2, ensure_ascii=False))
        return
    table = Table("id", "name", "status", "version", "versions")
    for journey in found:
        table.add_row(journey["id"], journey["name"] or "", journey["status"],
                      str(journey["version"] or "-"), str(len(journey["versions"])))
    _out().print(table)


@journeys_app.command("show")
def show_journey(journey: Annotated[str, typer.Argument(help="The journey's id.")],
                 database: Database = DEFAULT_DATABASE) -> None:
    """One journey with its current version's definition, as JSON."""
    found = in_transaction(database, lambda c: queries.journey(c, journey))
    if found is None:
        stderr().print(f"no journey {journey!r}", markup=False)
        raise typer.Exit(1)
    typer.echo(json.dumps(found, indent=2, ensure_ascii=False))


@enrollments_app.command("list")
def list_enrollments(
    journey: Annotated[str | None, typer.Option(help="Only this journey's.")] = None,
    account: Annotated[str | None, typer.Option(help="Only this account's.")] = None,
    status: Annotated[str | None, typer.Option(
        help="active, completed, exited or unenrolled.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many.")] = 100,
    as_json: Json = False,
    database: Database = DEFAULT_DATABASE,
) -> None:
    """Enrollments matching every filter given, oldest first."""
    if status is not None and status not in _STATUSES:
        stderr().print(f"--status: {status!r} is not one of {', '.join(_STATUSES)}", markup=False)
        raise typer.Exit(2)
    found = in_transaction(database, lambda c: queries.enrollments(
        c, journey=journey, account=account, status=status, limit=limit))
    if as_json:
        for enrollment in found:
            typer.echo(json.dumps(enrollment, ensure_ascii=False))
        return
    table = Table("id", "journey", "v", "account", "status", "goal", "enrolled", "ended", "at")
    for e in found:
        table.add_row(str(e["id"]), e["journey"], str(e["version"]), e["account"], e["status"],
                      "yes" if e["goal_achieved"] else "", e["enrolled_at"] or "",
                      e["ended_at"] or "", e["path"][-1] if e["path"] else "")
    _out().print(table)


@enrollments_app.command("show")
def show_enrollment(
    id: Annotated[int, typer.Argument(help="The enrollment's id.")],
    as_json: Json = False,
    database: Database = DEFAULT_DATABASE,
) -> None:
    """One enrollment and its history: each node visit and decision, with its values."""
    def read(connection: Any) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        return queries.enrollment(connection, id), queries.history(connection, id)

    found, history = in_transaction(database, read)
    if found is None:
        stderr().print(f"no enrollment {id}", markup=False)
        raise typer.Exit(1)
    if as_json:
        typer.echo(json.dumps({**found, "history": history}, indent=2, ensure_ascii=False))
        return
    out = _out()
    out.print(f"[bold]enrollment {id}[/]: {found['journey']} v{found['version']}, "
              f"account {found['account']}, {found['status']}"
              + (f" ({found['reason']})" if found["reason"] else "")
              + (", goal reached" if found["goal_achieved"] else ""))
    for entry in history:
        what = entry.get("event") or entry.get("decision") or ""
        rest = {k: v for k, v in entry.items() if k not in ("at", "node", "event", "decision")}
        details = json.dumps(rest, ensure_ascii=False, sort_keys=True) if rest else ""
        out.print(f"  {entry['at']}  {entry.get('node') or '-':<20} {what:<14} {details}",
                  markup=False)


versions_cmd.add_to(journeys_app, _hand_over)  # versions, diff, rollback


def register(app: typer.Typer) -> None:
    """Add the ``journeys`` and ``enrollments`` command groups to the main application."""
    app.add_typer(journeys_app)
    app.add_typer(enrollments_app)
