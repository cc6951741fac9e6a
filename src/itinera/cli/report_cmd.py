"""``itinera report JOURNEY``: a journey's analytics from a store, or from a simulated scenario.

Not to be confused with ``cli/report.py``, the readable output of ``itinera simulate``.

Reads the store at ``--database URL`` (else ``$ITINERA_DATABASE``, else ``sqlite:///itinera.db``)
without changing it, or runs ``--scenario FILE`` in memory and reports on the result. Prints
Rich tables, or with ``--csv`` one long CSV (``CSV_COLUMNS``; docs/analytics.md describes it).
Exit status 0 printed, 2 when the input is unusable (unknown journey, missing database, bad
window, invalid scenario), each with its place on standard error.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from itinera.analytics.report import JourneyNotFound, JourneyReport, journey_report
from itinera.cli.database import DEFAULT_DATABASE, Database
from itinera.definitions.loader import load_scenario
from itinera.errors import DefinitionError, ItineraError
from itinera.simulate.runner import simulate
from itinera.storage.engine import create_engine

__all__ = ["CSV_COLUMNS", "csv_rows", "register"]

INVALID = 2
CSV_COLUMNS = ("section", "item", "variant", "metric", "value")


class Unusable(Exception):
    """Input the report cannot use; the message names its place."""


def _store_engine(url: str) -> sa.Engine:
    """An engine on an existing store: a SQLite file that is not there is an error (SQLite
    would create an empty one)."""
    parsed = sa.engine.make_url(url)
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise Unusable(f"--database: a store is SQLite or PostgreSQL, not {backend!r}")
    local = backend == "sqlite" and parsed.database not in (None, "", ":memory:")
    if local and not Path(str(parsed.database)).is_file():
        raise Unusable(f"--database: no SQLite database at {parsed.database}")
    try:
        return create_engine(url)
    except ImportError as error:  # a driver named in the URL that is not installed
        raise Unusable(f"--database: {error}") from None


@contextmanager
def _connection(database: str, scenario: Path | None) -> Iterator[sa.Connection]:
    if scenario is None:
        engine = _store_engine(database)
        try:
            with engine.connect() as connection:
                yield connection
        finally:
            engine.dispose()
        return
    try:
        simulation = simulate(load_scenario(scenario))
    except DefinitionError as error:
        raise Unusable("\n".join(p.in_file(scenario) for p in error.problems)) from None
    except (ValueError, OSError, ItineraError) as error:
        raise Unusable(f"{scenario}: {error}") from None
    try:  # the simulation's in-memory database lives as long as its store's connection
        yield simulation.store.conn
    finally:
        simulation.store.close()


# -- CSV -----------------------------------------------------------------------------------
def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def csv_rows(report: JourneyReport) -> Iterator[tuple[str, str, str, str, str]]:
    """The report as (section, item, variant, metric, value) rows; None values are empty."""
    summary = report.summary
    totals: tuple[tuple[str, object], ...] = (
        ("enrolled", summary.enrolled), ("active", summary.active),
        ("completed", summary.completed), ("exited", summary.exited),
        ("unenrolled", summary.unenrolled), ("ended_on_entry", report.ended_on_entry),
        ("goal_reached", summary.goal_reached), ("conversion_rate", summary.conversion_rate),
        ("median_seconds_to_goal", report.median_seconds_to_goal))
    for metric, value in totals:
        yield "summary", report.journey, "", metric, _cell(value)
    for node in report.nodes:
        for metric, value in (("entered", node.entered), ("waiting", node.waiting),
                              ("ended", node.ended), ("dropped", node.dropped),
                              ("drop_off_rate", node.drop_off_rate)):
            yield "node", node.node, "", metric, _cell(value)
    for day in report.days:
        for metric, count in (("enrolled", day.enrolled), ("goal_reached", day.goal_reached),
                              ("completed", day.completed), ("exited", day.exited),
                              ("unenrolled", day.unenrolled)):
            yield "day", day.day, "", metric, str(count)
    for experiment in report.experiments:
        for variant in experiment.variants:
            values: list[tuple[str, object]] = [
                ("control", variant.control), ("enrolled", variant.enrolled),
                ("converted", variant.converted), ("rate", variant.rate)]
            c = variant.comparison
            if c is not None:
                values += [("difference", c.difference), ("ci_low", c.ci_low),
                           ("ci_high", c.ci_high), ("relative_lift", c.relative_lift),
                           ("p_value", c.p_value), ("test", c.test)]
            for metric, value in values:
                yield "experiment", experiment.name, variant.name, metric, _cell(value)
    for skip in report.skips:
        yield "skip", skip.node, skip.channel, skip.reason, str(skip.count)
    for row in report.emails:
        for metric, value in (("delivered", row.delivered), ("clicked", row.clicked),
                              ("opened", row.opened), ("click_rate", row.click_rate),
                              ("open_rate", row.open_rate), ("bot_hits", row.bot_hits)):
            yield "email", row.node, "", metric, _cell(value)


# -- tables --------------------------------------------------------------------------------
def _percent(value: float | None, signed: bool = False) -> str:
    return "—" if value is None else f"{value * 100:{'+' if signed else ''}.1f}%"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    whole = round(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")) if n]
    return " ".join(parts[:2]) or "0s"


_TESTS = {"chi-square": "chi-square test", "fisher": "Fisher's exact test"}


def _print_tables(console: Console, report: JourneyReport) -> None:
    s = report.summary
    scope = "all versions" if report.version is None else f"version {report.version}"
    if report.enrolled_from or report.enrolled_to:
        scope += f", enrolled {report.enrolled_from or '…'} to {report.enrolled_to or '…'}"
    console.print(f"[bold cyan]{report.journey}[/]" + (f" — {report.name}" if report.name else "")
                  + f" ({scope})")
    console.print(f"{s.enrolled} enrolled: {s.active} active, {s.completed} completed, "
                  f"{s.exited} exited, {s.unenrolled} unenrolled; {report.ended_on_entry} "
                  "ended on entry")
    if s.has_goal:
        console.print(f"goal reached by {s.goal_reached} ({_percent(s.conversion_rate)}), "
                      f"median time to goal {_duration(report.median_seconds_to_goal)}")
    else:
        console.print("the journey has no goal")
    nodes = Table("node", "kind", "entered", "waiting", "ended", "dropped", "drop-off",
                  title="Funnel", title_justify="left", box=None, pad_edge=False)
    for n in report.nodes:
        nodes.add_row(n.node, n.kind or "", str(n.entered), str(n.waiting), str(n.ended),
                      str(n.dropped), _percent(n.drop_off_rate))
    console.print()
    console.print(nodes)
    if report.skips:
        skips = Table("node", "channel", "reason", "skipped", title="Skipped",
                      title_justify="left", box=None, pad_edge=False)
        for k in report.skips:
            skips.add_row(k.node, k.channel, k.reason, str(k.count))
        console.print()
        console.print(skips)
    if report.emails:
        emails = Table("node", "delivered", "clicked", "click rate", "opened", "open rate",
                       "bots", title="Emails (tracked clicks and opens)", title_justify="left",
                       box=None, pad_edge=False)
        for e in report.emails:
            emails.add_row(e.node, str(e.delivered), str(e.clicked), _percent(e.click_rate),
                           str(e.opened), _percent(e.open_rate), str(e.bot_hits))
        console.print()
        console.print(emails)
    if report.days:
        days = Table("day (UTC)", "enrolled", "goal", "completed", "exited", "unenrolled",
                     title="Per day", title_justify="left", box=None, pad_edge=False)
        for d in report.days:
            days.add_row(d.day, *(str(n) for n in (d.enrolled, d.goal_reached, d.completed,
                                                   d.exited, d.unenrolled)))
        console.print()
        console.print(days)
    for experiment in report.experiments:
        table = Table("variant", "enrolled", "converted", "rate", "Δ rate", "95% CI of Δ",
                      "lift", "p", title=f"Experiment {experiment.name}"
                      + (f" (node {experiment.node})" if experiment.node else ""),
                      title_justify="left", box=None, pad_edge=False)
        tests = set()
        for v in experiment.variants:
            c = v.comparison
            if c is not None:
                tests.add(_TESTS[c.test])
            table.add_row(
                v.name + ("*" if v.control else ""), str(v.enrolled), str(v.converted),
                _percent(v.rate), _percent(c.difference, signed=True) if c else "",
                f"{_percent(c.ci_low, True)} to {_percent(c.ci_high, True)}" if c else "",
                _percent(c.relative_lift, True) if c else "", f"{c.p_value:.3g}" if c else "")
        console.print()
        console.print(table)
        console.print("* control. Δ: rate minus the control's; lift: Δ over the control's rate"
                      + (f"; p: {', '.join(sorted(tests))}" if tests else ""))


def register(app: typer.Typer) -> None:
    """Add ``itinera report`` to the main application."""

    @app.command("report")
    def report(
        journey: Annotated[str, typer.Argument(help="The journey's id.")],
        database: Database = DEFAULT_DATABASE,
        scenario: Annotated[Path | None, typer.Option(
            help="Simulate this scenario in memory and report on it (instead of --database).",
            show_default=False)] = None,
        version: Annotated[int | None, typer.Option(
            help="Only enrollments of this version.", show_default=False)] = None,
        enrolled_from: Annotated[datetime | None, typer.Option(
            "--from", formats=["%Y-%m-%d"], show_default=False,
            help="Only enrollments from this UTC day (YYYY-MM-DD).")] = None,
        enrolled_to: Annotated[datetime | None, typer.Option(
            "--to", formats=["%Y-%m-%d"], show_default=False,
            help="Only enrollments up to this UTC day (YYYY-MM-DD), inclusive.")] = None,
        as_csv: Annotated[bool, typer.Option(
            "--csv", help="One long CSV: section,item,variant,metric,value.")] = False,
    ) -> None:
        """A journey's funnel, goal conversion, per-day series and experiments.

        Exit status: 0 printed, 2 unusable input (unknown journey, missing database, bad window).
        """
        errors = Console(stderr=True, emoji=False, highlight=False, soft_wrap=True)
        first: date | None = enrolled_from.date() if enrolled_from else None
        last: date | None = enrolled_to.date() if enrolled_to else None
        try:
            if first is not None and last is not None and first > last:
                raise Unusable(f"--from: {first} is after --to {last}")
            with _connection(database, scenario) as connection:
                found = journey_report(connection, journey, version=version,
                                       enrolled_from=first, enrolled_to=last)
        except Unusable as error:
            errors.print(str(error), markup=False)
            raise typer.Exit(INVALID) from None
        except JourneyNotFound as error:
            place = "--version" if error.version is not None else "JOURNEY"
            errors.print(f"{place}: {error}", markup=False)
            raise typer.Exit(INVALID) from None
        except SQLAlchemyError as error:
            errors.print(f"--database: database error: {error}", markup=False)
            raise typer.Exit(INVALID) from None
        if as_csv:
            writer = csv.writer(sys.stdout, lineterminator="\n")
            writer.writerow(CSV_COLUMNS)
            writer.writerows(csv_rows(found))
        else:
            _print_tables(Console(emoji=False, highlight=False, soft_wrap=True), found)
