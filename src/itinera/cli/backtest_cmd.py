"""``itinera backtest``: what a draft journey would have done over the store's recorded history.

The history is the store's journal (every input the live service applied); the backtest is the
simulation of the scenario ``simulate.backtest`` builds from it, every channel in sandbox. The
live database is only read. Exit status: 0 ran, 2 invalid input (dates, journey file,
database, a history that cannot be replayed), each problem with its place.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.console import Console

from itinera.cli.db_cmd import DEFAULT_DATABASE
from itinera.cli.report import print_report
from itinera.definitions.loader import load_journey_file, load_workspace
from itinera.errors import DefinitionError, ItineraError
from itinera.simulate.backtest import (
    Backtest,
    backtest_scenario,
    check_window,
    read_journal,
    recorded_workspace,
)
from itinera.simulate.runner import simulate
from itinera.timeutil import format_instant, parse_instant

__all__ = ["register"]

INVALID = 2


def backtest(
    journey_file: Annotated[Path, typer.Argument(help="The draft journey (YAML or JSON).")],
    since: Annotated[str, typer.Option("--from", help="Enable the draft at this instant "
                                                      "(ISO-8601, e.g. 2026-03-01).")],
    until: Annotated[str, typer.Option("--to", help="Replay inputs received before this "
                                                    "instant, and timers up to it.")],
    database: Annotated[str, typer.Option(
        "--database", envvar="ITINERA_DATABASE",
        help="The live store (sqlite:///file.db, postgresql+psycopg://...); only read.")]
        = DEFAULT_DATABASE,
    with_live_journeys: Annotated[bool, typer.Option(
        "--with-live-journeys",
        help="Also run the live journeys as they were published and enabled.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON result only.")] = False,
    scenario_out: Annotated[Path | None, typer.Option(
        "--scenario-out", help="Also write the backtest's scenario to this file.")] = None,
    workspace: Annotated[Path | None, typer.Option(
        "--workspace", help="A workspace file (as `itinera workspace apply` takes it) merged into "
                            "the recorded configuration: templates or segments the draft needs "
                            "that are not live yet.")] = None,
) -> None:
    """Replay the recorded history through a draft journey in the simulator, with no effects.

    The world and configuration come from the store's journal; the draft is published and
    enabled at --from; live journeys do not run unless --with-live-journeys.
    Exit status: 0 ran, 2 invalid input.
    """
    errors = Console(stderr=True, emoji=False, highlight=False, soft_wrap=True)

    def fail(message: str) -> typer.Exit:
        errors.print(message, markup=False)
        return typer.Exit(INVALID)

    start, end = _instant("--from", since), _instant("--to", until)
    if isinstance(start, str) or isinstance(end, str):
        raise fail("\n".join(m for m in (start, end) if isinstance(m, str)))
    try:  # a reversed window is said first: nothing else is worth reading then
        check_window(start, end)
    except ItineraError as error:
        raise fail(str(error)) from None
    try:
        extra = None if workspace is None else load_workspace(workspace)
    except DefinitionError as error:
        raise fail("\n".join(p.in_file(workspace) for p in error.problems)) from None
    except OSError as error:
        raise fail(f"{workspace}: {error}") from None
    try:
        entries = read_journal(database, end)
        draft = load_journey_file(journey_file, recorded_workspace(entries, extra))
        plan = backtest_scenario(entries, draft, start, end, with_live_journeys=with_live_journeys,
                                 workspace=extra)
    except DefinitionError as error:
        raise fail("\n".join(f"{journey_file}: {p}" for p in error.problems)) from None
    except OSError as error:
        raise fail(f"{journey_file}: {error}") from None
    except ItineraError as error:
        raise fail(str(error)) from None
    if scenario_out is not None:
        _write_scenario(plan, scenario_out)
    try:
        simulation = simulate(plan.loaded)
    except ItineraError as error:  # e.g. journeys whose actions keep triggering each other
        raise fail(f"the backtest could not run: {error}") from None
    result = simulation.result()
    simulation.store.close()
    if as_json:
        sys.stdout.write(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
        return
    console = Console(emoji=False, highlight=False, soft_wrap=True)
    console.print(f"[bold]Backtest[/] of {draft.id} from {format_instant(start)} to "
                  f"{format_instant(end)}: {plan.replayed} recorded inputs replayed "
                  f"({plan.before_since} before --from), {plan.left_out} lifecycle inputs of "
                  "journeys left out")
    print_report(console, result, dataclasses.replace(plan.loaded, journeys=[draft]))


def _instant(option: str, text: str) -> datetime | str:
    """The instant, or the problem with it."""
    try:
        return parse_instant(text)
    except ValueError as error:
        return f"{option}: {error}"


def _write_scenario(plan: Backtest, path: Path) -> None:
    """The scenario as a file ``itinera simulate`` runs (the same result)."""
    raw = plan.loaded.scenario.model_dump(mode="json", by_alias=True, exclude_unset=True)
    path.write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), encoding="utf-8")


def register(app: typer.Typer) -> None:
    """Add the ``backtest`` command to the main application."""
    app.command("backtest")(backtest)
