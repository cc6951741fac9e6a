"""Importing checked CSV sources into a live store: through ``Service.submit``, like the API.

Every source is checked whole first (``CsvSource.check``); only when no row of any file is bad
are the rows turned into inputs and submitted in batches — all batches of all files in one
transaction of the receiving store, so an import lands whole in the inbox or not at all, and a
dry run is the same work rolled back. Within that transaction, rows of earlier batches and files
already count: a buying-group member may name a person imported just before, an event repeated
later in the file is a duplicate. Duplicates are events whose id the store has received before
(``received``, the same idempotency keys as the API's); they are skipped and counted.

What was received is applied by a worker (``itinera serve``), or by ``apply_inbox`` here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa

from itinera.errors import DefinitionError, Problem
from itinera.runtime.csv_import import CsvSource, Kind
from itinera.runtime.service import Service
from itinera.storage import inbox
from itinera.storage import schema as t

__all__ = ["FileSummary", "ImportProgress", "apply_inbox", "import_sources"]

MAX_PROBLEMS = 1000  # listed per import; beyond that, how many more
_T = TypeVar("_T")


@dataclass
class FileSummary:
    """What became of one file's rows."""

    name: str
    kind: Kind
    rows: int = 0
    stored: int = 0  # inputs put in the inbox
    duplicates: int = 0  # events already received (before, or earlier in the import)
    unkeyed: int = 0  # events with neither an id nor a timestamp: a re-import records them again


class ImportProgress(Protocol):
    """Told how far an import is, row by row (the CLI draws a progress bar)."""

    def begin(self, description: str, total: int | None) -> None: ...

    def advance(self, rows: int) -> None: ...


class _Quiet:
    def begin(self, description: str, total: int | None) -> None:
        pass

    def advance(self, rows: int) -> None:
        pass


class _DryRun(Exception):
    """Raised inside the import's transaction to roll it back."""


@dataclass
class _Problems:
    """Problems found while storing: the first ``MAX_PROBLEMS``, and how many more."""

    listed: list[Problem] = field(default_factory=list)
    more: int = 0

    def add(self, problem: Problem) -> None:
        if len(self.listed) < MAX_PROBLEMS:
            self.listed.append(problem)
        else:
            self.more += 1

    def error(self) -> DefinitionError:
        tail = [Problem("", f"and {self.more:,} more problems")] if self.more else []
        return DefinitionError(self.listed + tail)


def import_sources(service: Service, sources: list[CsvSource], *, batch: int = 1000,
                   dry_run: bool = False, progress: ImportProgress | None = None) -> list[FileSummary]:
    """Check every source, then store every row of every source, or nothing (raising
    DefinitionError with every problem, each at its file, line and column)."""
    progress = progress or _Quiet()
    problems = [problem for source in sources for problem in source.problems]
    if problems:
        raise DefinitionError(problems)
    for source in sources:
        progress.begin(f"checking {source.path.name}", None)
        problems += source.check(progress.advance, MAX_PROBLEMS - len(problems))
    if problems:
        raise DefinitionError(problems)
    summaries = [FileSummary(source.name, source.kind, source.rows) for source in sources]
    found = _Problems()
    try:
        with service.intake.transaction():
            for source, summary in zip(sources, summaries, strict=True):
                progress.begin(f"storing {source.path.name}", source.rows)
                _store(service, source, summary, batch, progress, found)
            if found.listed:
                raise found.error()
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return summaries


def apply_inbox(service: Service, batch: int = 1000, progress: ImportProgress | None = None) -> int:
    """Run the worker until the inbox is empty; returns how many inputs it applied."""
    progress = progress or _Quiet()
    progress.begin("applying", _pending(service))
    applied = 0
    while True:
        count = service.work(batch)
        applied += count
        progress.advance(count)
        # A round may apply no input yet have work left (timers due before the inputs).
        if count == 0 and _pending(service) == 0:
            return applied


def _pending(service: Service) -> int:
    with service.intake.transaction():
        return inbox.pending_count(service.intake)


def _store(service: Service, source: CsvSource, summary: FileSummary, batch: int,
           progress: ImportProgress, problems: _Problems) -> None:
    conn = service.intake.conn
    for chunk in _chunks(source.entries(), batch):
        rows = chunk
        if source.kind is Kind.EVENTS:
            rows = _fresh_events(conn, chunk, summary)
        _submit(service, source, rows, summary, problems)
        progress.advance(len(chunk))


def _submit(service: Service, source: CsvSource, rows: list[tuple[int, dict[str, Any]]],
            summary: FileSummary, problems: _Problems) -> None:
    """Store the rows (checked against what is stored, as the API's inputs are), or list the
    bad ones at their lines and columns and store the others: a later row that names one of
    them (a member's person) is then not refused as well. The import's transaction is rolled
    back at its end when any problem was found."""
    while rows:
        try:
            summary.stored += service.submit([entry for _, entry in rows], place="")
            return
        except DefinitionError as error:
            bad = set()
            for problem in error.problems:
                index, placed = _in_file(source, rows, problem)
                problems.add(placed)
                bad.add(index)
            if None in bad:  # not placed at a row: nothing of the chunk can be stored
                return
            rows = [row for i, row in enumerate(rows) if i not in bad]


_INPUT_PLACE = re.compile(r"\[(\d+)\]\.\w+(?:\.(.+))?")


def _in_file(source: CsvSource, rows: list[tuple[int, dict[str, Any]]],
             problem: Problem) -> tuple[int | None, Problem]:
    """The row of a problem of the inputs (``[3].upsert_person.email``), and the problem at its
    line and column as the problems of reading the file are: ``people.csv line 5, column Email``."""
    found = _INPUT_PLACE.fullmatch(problem.place)
    if found is None:  # not expected: every input problem is placed under its index
        return None, Problem(source.name, str(problem))
    index = int(found.group(1))
    here = f"{source.name} line {rows[index][0]}"
    path = found.group(2) or ""
    columns = {column.target(source.bag): column.name for column in source.columns}
    parts = path.split(".") if path else []
    for end in range(len(parts), 0, -1):  # the column that holds the place, or a parent of it
        name = columns.get(".".join(parts[:end]))
        if name is not None:
            return index, Problem(f"{here}, column {name}", problem.message)
    return index, Problem(here, f"{path}: {problem.message}" if path else problem.message)


def _fresh_events(conn: sa.Connection, rows: list[tuple[int, dict[str, Any]]],
                  summary: FileSummary) -> list[tuple[int, dict[str, Any]]]:
    """The events of ``rows`` not received before (nor earlier in ``rows``)."""
    keys = {_event_key(entry) for _, entry in rows} - {None}
    known = set(conn.execute(sa.select(t.received.c.key).where(
        t.received.c.key.in_(sorted(k for k in keys if k is not None)))).scalars()) if keys else set()
    fresh = []
    for line, entry in rows:
        key = _event_key(entry)
        if key is None:
            summary.unkeyed += 1
        elif key in known:
            summary.duplicates += 1
            continue
        else:
            known.add(key)
        fresh.append((line, entry))
    return fresh


def _event_key(entry: dict[str, Any]) -> str | None:
    """The idempotency key ``Service.submit`` gives an event: its id, prefixed."""
    event_id = entry["event"].get("id")
    return f"event:{event_id}" if event_id else None


def _chunks(items: Iterable[_T], size: int) -> Iterator[list[_T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk
