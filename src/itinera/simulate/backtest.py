"""Backtest: what a draft journey would have done over the store's recorded history.

The journal (``storage.inbox``) holds every input the live service applied, in arrival order,
with the instant it was received. A backtest turns it into an in-memory scenario and runs it
with :func:`itinera.simulate.runner.simulate` — the same code path as ``itinera simulate``, so a
backtest *is* the simulation of its scenario:

- ``data``: the workspace configuration recorded before ``until`` (every ``configure`` input,
  merged in order as the engine merges them), and the world of the ``load_world`` inputs that
  open the history, loaded at the scenario's start;
- ``timeline``: every other input received before ``until``, at the instant the engine applied
  it (its received instant, never earlier than the input before it), to the second; an event
  without an id takes the id the live service gave it (``inbox-<seq>``);
- the draft journey, published and enabled at ``since``, before the inputs of that instant.

Lifecycle inputs (publish, enable, disable, pause, resume) of the live journeys are left out
unless ``with_live_journeys``, so that their effects do not confound the draft's; those of the
draft's own id always are (a draft with a live journey's id stands in for it). The live
database is only read, in one read-only transaction.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from itinera.definitions._shape import shape_problems
from itinera.definitions.models import Journey
from itinera.definitions.scenario import Scenario, TimelineEntry, WorkspaceData
from itinera.definitions.validate import LoadedScenario
from itinera.engine.commands import PUBLISH_MOVING, timeline_body
from itinera.errors import DefinitionError, ItineraError, Problem
from itinera.storage.inbox import JournalEntry, journal
from itinera.timeutil import as_utc, format_instant

__all__ = ["Backtest", "BacktestError", "backtest_scenario", "check_window", "read_journal",
           "recorded_workspace"]

_LIFECYCLE = ("publish", PUBLISH_MOVING, "enable", "disable", "pause", "resume")
_WORLD_KEYS = ("accounts", "people", "buying_groups")  # what a load_world input loads


class BacktestError(ItineraError):
    """The history cannot be read or replayed; the message names the input or option."""


@dataclass(frozen=True)
class Backtest:
    """The scenario of a backtest (``simulate(loaded)`` runs it) and what went into it."""

    loaded: LoadedScenario
    draft: Journey
    replayed: int  # journal inputs on the timeline
    before_since: int  # of which received before the draft was enabled
    left_out: int  # lifecycle inputs of live journeys (or of the draft's id) not replayed


def read_journal(database_url: str, before: datetime) -> list[JournalEntry]:
    """The journal entries received before ``before``, read in one read-only transaction
    (a SQLite file opened read-only; on PostgreSQL a READ ONLY, REPEATABLE READ transaction)."""
    try:
        engine = _read_only_engine(database_url)
    except (SQLAlchemyError, ImportError) as error:  # an unknown dialect or a missing driver
        raise BacktestError(f"--database: cannot use {database_url!r}: {error}") from None
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "postgresql":
                connection.exec_driver_sql(
                    "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            if not sa.inspect(connection).has_table("journal"):
                raise BacktestError("--database: the database has no journal (not an Itinera "
                                    "store, or created before the journal: run `itinera db "
                                    "upgrade`)")
            return journal(connection, as_utc(before))
    except SQLAlchemyError as error:
        reason = str(error.orig) if isinstance(error, sa.exc.DBAPIError) else str(error)
        raise BacktestError(f"--database: cannot read the store: {reason.strip()}") from None
    finally:
        engine.dispose()


def _read_only_engine(database_url: str) -> sa.Engine:
    url = sa.make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return sa.create_engine(url)
    if url.database in (None, "", ":memory:"):
        raise BacktestError("--database: a backtest reads a store: a SQLite file or PostgreSQL")
    path = Path(url.database).resolve()
    if not path.is_file():
        raise BacktestError(f"--database: no database file {str(path)!r}")

    def connect() -> sqlite3.Connection:  # mode=ro: SQLite itself refuses any write
        return sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True,
                               check_same_thread=False)

    return sa.create_engine("sqlite://", creator=connect)


def recorded_workspace(entries: list[JournalEntry],
                       workspace: WorkspaceData | None = None) -> WorkspaceData:
    """The workspace configuration the journal's ``configure`` inputs set, merged in order, and
    then ``workspace`` (a workspace file), merged as ``itinera workspace apply`` would."""
    return WorkspaceData.model_validate(_configuration(entries, workspace))


def _configuration(entries: list[JournalEntry],
                   workspace: WorkspaceData | None = None) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for entry in entries:
        if entry.kind == "configure":
            _merge(merged, entry.payload)
    if workspace is not None:
        _merge(merged, workspace.model_dump(mode="json", exclude_unset=True))
    return merged


def _merge(into: dict[str, Any], payload: dict[str, Any]) -> None:
    """Merge as the engine does: records by id (a later one replaces an earlier one in its
    place), names once each, mappings key by key."""
    for key, value in payload.items():
        if isinstance(value, list):
            items: list[Any] = into.setdefault(key, [])
            for item in value:
                identity = _identity(item)
                at = next((i for i, old in enumerate(items) if _identity(old) == identity), None)
                if at is None:
                    items.append(item)
                elif isinstance(item, dict):
                    items[at] = item
        elif isinstance(value, dict):
            into.setdefault(key, {}).update(value)
        elif value is not None:
            into[key] = value


def _identity(item: Any) -> Any:
    if isinstance(item, dict):  # buying groups are one per (account, solution)
        return item["id"] if "id" in item else (item.get("account"), item.get("solution"))
    return item


def check_window(since: datetime, until: datetime) -> tuple[datetime, datetime]:
    """The window to the second; raises :class:`BacktestError` unless ``since`` is before
    ``until``."""
    since, until = _second(since), _second(until)
    if since >= until:
        raise BacktestError(f"--from ({format_instant(since)}) must be before --to "
                            f"({format_instant(until)})")
    return since, until


def backtest_scenario(entries: list[JournalEntry], draft: Journey, since: datetime,
                      until: datetime, *, with_live_journeys: bool = False,
                      workspace: WorkspaceData | None = None) -> Backtest:
    """The scenario replaying ``entries`` (in arrival order) with ``draft`` enabled from
    ``since`` to ``until``; ``workspace`` (a workspace file about to be applied) is merged into
    the recorded configuration, in place from the start. Instants are taken to the second;
    inputs received at ``until`` or later are not replayed, timers due at ``until`` still fire."""
    since, until = check_window(since, until)
    world: dict[str, Any] = {}
    world_at: datetime | None = None
    timeline: list[tuple[datetime, dict[str, Any]]] = []
    left_out = 0
    latest: datetime | None = None
    entries = [e for e in entries if e.received_at < until]
    for entry in entries:
        # The engine's clock never goes back: an input is applied at its received instant or,
        # received earlier than the input before it (clocks of several receivers), at that one's.
        latest = at = max(_second(entry.received_at), latest or _second(entry.received_at))
        if entry.kind == "configure":
            continue  # part of the configuration, in place from the start
        if entry.kind == "load_world":
            if timeline:
                raise BacktestError(
                    f"journal[{entry.seq}] (load_world received {format_instant(at)}): a world "
                    "loaded after other inputs cannot be replayed; a backtest replays a world "
                    "loaded at the start of the history")
            _merge(world, {k: entry.payload[k] for k in _WORLD_KEYS if k in entry.payload})
            world_at = world_at or at
            continue
        if entry.kind in _LIFECYCLE:
            journey = (entry.payload.get("id") if entry.kind == "publish"
                       else entry.payload["journey"].get("id") if entry.kind == PUBLISH_MOVING
                       else entry.payload)
            if not with_live_journeys or journey == draft.id:
                left_out += 1
                continue
        timeline.append((at, _timeline_body(entry)))
    first = world_at or (timeline[0][0] if timeline else since)
    start = min(first, since)
    before = sum(1 for at, _ in timeline if at < since)
    definition = draft.model_dump(mode="json", by_alias=True, exclude_none=True)
    ordered = [*timeline[:before], (since, {"publish": definition}), (since, {"enable": draft.id}),
               *timeline[before:]]
    raw = {
        "start": format_instant(start),
        "until": _offset(until, start),
        "data": _configuration(entries, workspace) | world,
        "timeline": [{"at": _offset(at, start), **body} for at, body in ordered],
    }
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as error:
        raise DefinitionError(shape_problems(error, raw, "backtest")) from None
    loaded = LoadedScenario(scenario, [], Path.cwd())
    return Backtest(loaded, draft, len(timeline), before, left_out)


def _timeline_body(entry: JournalEntry) -> dict[str, Any]:
    payload = entry.payload
    if entry.kind == "event" and not payload.get("id"):
        payload = payload | {"id": f"inbox-{entry.seq}"}  # the id the live service gave it
    body = timeline_body(entry.kind, payload)
    try:
        TimelineEntry.model_validate(body)
    except ValidationError as error:
        problems = shape_problems(error, body, "")
        raise DefinitionError([Problem(f"journal[{entry.seq}]{'.' if p.place else ''}{p.place}",
                                       p.message) for p in problems]) from None
    return body


def _second(instant: datetime) -> datetime:
    return as_utc(instant).replace(microsecond=0)


def _offset(instant: datetime, start: datetime) -> str:
    return f"{int((instant - start).total_seconds())}s"
