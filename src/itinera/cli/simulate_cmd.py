"""``itinera simulate``: run a scenario on a virtual clock and report what happened."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from itinera.cli.report import print_report
from itinera.definitions.loader import load_scenario
from itinera.errors import DefinitionError, ItineraError
from itinera.simulate.result import check_expectations
from itinera.simulate.runner import simulate as run_simulation
from itinera.timeutil import parse_duration

__all__ = ["register"]


def simulate(
    scenario: Annotated[Path, typer.Argument(help="A scenario file (YAML or JSON).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON result only.")] = False,
    until: Annotated[str | None, typer.Option(help="Run until start + this (e.g. 30d).")] = None,
) -> None:
    """Run a scenario on a virtual clock, every channel in sandbox, and report what happened.

    Exit status: 0 ran (and expectations held), 1 an expectation failed, 2 invalid input.
    """
    errors = Console(stderr=True, emoji=False, highlight=False, soft_wrap=True)
    try:
        window = parse_duration(until) if until is not None else None
        loaded = load_scenario(scenario)
    except DefinitionError as error:
        for problem in error.problems:
            errors.print(problem.in_file(scenario), markup=False)
        raise typer.Exit(2) from None
    except (ValueError, OSError) as error:
        errors.print(f"{scenario}: {error}", markup=False)
        raise typer.Exit(2) from None
    try:
        simulation = run_simulation(loaded, window)
    except ItineraError as error:  # e.g. journeys whose actions keep triggering each other
        errors.print(f"{scenario}: the scenario could not run: {error}", markup=False)
        raise typer.Exit(2) from None
    result = simulation.result()
    simulation.store.close()
    misses = check_expectations(result, loaded.scenario.expect)
    if as_json:
        sys.stdout.write(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    else:
        print_report(Console(emoji=False, highlight=False, soft_wrap=True), result, loaded)
    for miss in misses:
        errors.print(f"expectation failed: {miss}", markup=False)
    if misses:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``simulate`` to the ``itinera`` application."""
    app.command("simulate")(simulate)
