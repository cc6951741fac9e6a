"""``itinera import [KIND] FILE...``: CSV files of accounts, people, buying-group members or
events into a store's inbox, through the same checks as the API.

KIND (``accounts``, ``people``, ``events``, ``buying-groups``) applies to every file; without
it each file's name says what it holds (``accounts.csv``, ``crm_people.csv``). Accounts are
imported first, then people, buying-group members and events, whatever the order given. Every row
of every file is checked first; any problem is listed with its file, line and column, nothing
is stored and the exit status is 2. Otherwise every row is stored, in one transaction, and a
worker applies them: ``itinera serve``, or ``--apply`` here (only while no ``serve`` runs on the
database). Exit status: 0 stored (and applied), 1 stored but applying failed, 2 invalid input or
an unusable database.
"""

from __future__ import annotations

import typing
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Column
from rich.text import Text
from sqlalchemy.exc import SQLAlchemyError

from itinera.cli.database import DEFAULT_DATABASE, Database, stderr
from itinera.definitions._documents import read_document
from itinera.definitions._shape import shape_problems
from itinera.errors import DefinitionError, ItineraError, Problem
from itinera.runtime.csv_import import ColumnSpec, ColumnType, CsvSource, ImportOptions, Kind, kind_of_file
from itinera.runtime.importer import FileSummary, apply_inbox, import_sources
from itinera.runtime.service import Service
from itinera.runtime.worker_lock import WorkerLockError
from itinera.storage.engine import shown_url

__all__ = ["import_files", "register"]

_NOUNS = {Kind.ACCOUNTS: ("account", "accounts"), Kind.PEOPLE: ("person", "people"),
          Kind.EVENTS: ("event", "events"),
          Kind.BUYING_GROUPS: ("buying-group member", "buying-group members")}


UNUSABLE = 2  # the exit status of invalid input too, as for `itinera db`


class Unmapped(StrEnum):
    attributes = "attributes"
    ignore = "ignore"
    error = "error"


def import_files(
    args: Annotated[list[str], typer.Argument(
        metavar="[KIND] FILE", show_default=False,
        help="accounts | people | events | buying-groups (else each file's name says), then CSV files.")],
    database: Database = DEFAULT_DATABASE,
    maps: Annotated[list[str] | None, typer.Option(
        "--map", metavar="COLUMN=FIELD", show_default=False,
        help="Where a column goes: id, account, email, type, at... or attributes.<name> "
             "(properties.<name> for events); '-' skips it. Repeatable.")] = None,
    types: Annotated[list[str] | None, typer.Option(
        "--type", metavar="COLUMN=TYPE", show_default=False,
        help="Type of an attribute column: string, integer, number, boolean, date or json. "
             "Repeatable.")] = None,
    mapping: Annotated[Path | None, typer.Option(
        help="YAML file with columns (COLUMN: FIELD or {field:, type:}), unmapped, infer, "
             "delimiter, encoding; options given here win.")] = None,
    unmapped: Annotated[Unmapped | None, typer.Option(
        help="Columns that name no field: attributes (default), ignore, or error.")] = None,
    infer: Annotated[bool | None, typer.Option(
        "--infer/--no-infer", help="Attribute columns whose every value is a number (or "
                                    "true/false) hold numbers (booleans); else text. Default: infer.",
        show_default=False)] = None,
    delimiter: Annotated[str | None, typer.Option(help="Cell delimiter. Default: ','.")] = None,
    encoding: Annotated[str | None, typer.Option(
        help="Text encoding. Default: utf-8 (with or without BOM).")] = None,
    batch: Annotated[int, typer.Option(min=1, max=10_000, help="Rows per submitted batch.")] = 1000,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Check and map everything, show the mapping, store nothing.")] = False,
    apply: Annotated[bool, typer.Option(
        "--apply", help="Then apply the inbox (run the worker until it is empty).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """Import CSV files of accounts, people, buying-group members or events into the inbox.

    Every row is checked first; on any problem nothing is stored (exit 2).

    A worker applies the rows: `itinera serve`, or --apply. Re-imported events are skipped.
    """
    errors = stderr()
    out = Console(emoji=False, highlight=False, soft_wrap=True)

    def fail(problems: list[Problem], status: int = 2) -> typer.Exit:
        for problem in problems:
            errors.print(str(problem), markup=False)
        return typer.Exit(status)

    try:
        options = _options(mapping, maps or [], types or [], unmapped, infer, delimiter, encoding)
        sources = _sources(args, options)
    except DefinitionError as error:
        raise fail(error.problems) from None
    try:  # without --apply, only receive: a running `itinera serve` applies the rows
        service = Service(database, receive_only=not apply or dry_run)
    except WorkerLockError as error:
        raise fail([Problem("", f"--apply: {error}; import without --apply and the running "
                                "worker applies the rows")], UNUSABLE) from None
    except (SQLAlchemyError, ValueError) as error:
        raise fail([Problem("", f"cannot use the database {shown_url(database)}: {error}")],
                   UNUSABLE) from None
    try:
        with _RichProgress(errors, quiet) as progress:
            summaries = import_sources(service, sources, batch=batch, dry_run=dry_run, progress=progress)
        if dry_run:
            _print_mapping(out, sources)
        _print_summary(out, summaries, dry_run)
        if apply and not dry_run:
            try:
                with _RichProgress(errors, quiet) as progress:
                    applied = apply_inbox(service, batch, progress)
            except (ItineraError, SQLAlchemyError) as error:
                raise fail([Problem("", f"stored, but applying the inbox failed: {error} "
                                        "(`itinera serve` tries again)")], 1) from None
            out.print(f"applied {applied:,} inputs")
    except DefinitionError as error:
        raise fail([*error.problems, Problem("", "nothing was stored")]) from None
    except SQLAlchemyError as error:
        raise fail([Problem("", f"cannot use the database {shown_url(database)}: {error}")],
                   UNUSABLE) from None
    finally:
        service.close()


def _options(mapping: Path | None, maps: list[str], types: list[str], unmapped: Unmapped | None,
             infer: bool | None, delimiter: str | None, encoding: str | None) -> ImportOptions:
    """The mapping file, then the options given on the command line over it."""
    raw: Any = read_document(mapping) if mapping is not None else {}
    try:
        options = ImportOptions.model_validate(raw)
    except ValidationError as error:
        raise DefinitionError([Problem(f"{mapping}: {p.place}", p.message)
                               for p in shape_problems(error, raw, "")]) from None
    problems: list[Problem] = []
    columns = {name: options.spec(name) or ColumnSpec() for name in options.columns}
    for text in maps:
        name, _, target = text.rpartition("=")
        if not name or not target:
            problems.append(Problem(f"--map {text!r}",
                                    "write COLUMN=FIELD, e.g. --map 'Email Address=email'"))
            continue
        columns[name] = ColumnSpec(field=target, type=columns.get(name, ColumnSpec()).type)
    known_types = typing.get_args(ColumnType)
    for text in types:
        name, _, type_ = text.rpartition("=")
        if not name or type_ not in known_types:
            problems.append(Problem(f"--type {text!r}",
                                    f"write COLUMN=TYPE, TYPE one of {', '.join(known_types)}"))
            continue
        columns[name] = ColumnSpec(field=columns.get(name, ColumnSpec()).field, type=type_)
    given = {"unmapped": unmapped.value if unmapped else None, "infer": infer,
             "delimiter": delimiter, "encoding": encoding}
    merged = {**options.model_dump(), "columns": columns,
              **{name: value for name, value in given.items() if value is not None}}
    try:
        options = ImportOptions.model_validate(merged)
    except ValidationError as error:
        problems += [Problem(f"--{p.place}", p.message) for p in shape_problems(error, merged, "")]
    if problems:
        raise DefinitionError(problems)
    return options


def _sources(args: list[str], options: ImportOptions) -> list[CsvSource]:
    """The files to import, each with its kind; every column named by the options must be in
    one of them."""
    kinds = {kind.value: kind for kind in Kind} | {"buying_groups": Kind.BUYING_GROUPS}
    given = kinds.get(args[0].lower()) if args else None
    paths = [Path(arg) for arg in (args[1:] if given else args)]
    if not paths:
        raise DefinitionError([Problem("", "name at least one CSV file")])
    sources, problems = [], []
    for path in paths:
        kind = given or kind_of_file(path)
        if kind is None:
            problems.append(Problem(str(path), "its name does not say what it holds: put the kind first, "
                                               "e.g. itinera import people " + str(path)))
            continue
        source = CsvSource(path, kind, options)
        sources.append(source)
        problems += source.problems
    headers = {name for source in sources for name in source.header}
    if sources and not problems:
        files = ", ".join(source.name for source in sources)
        problems += [Problem(f"column {name!r}", f"not in the header of {files}")
                     for name in options.columns if name not in headers]
    if problems:
        raise DefinitionError(problems)
    # What rows refer to comes first: a member names a person, a person an account.
    return sorted(sources, key=lambda source: list(Kind).index(source.kind))


def _print_mapping(out: Console, sources: list[CsvSource]) -> None:
    for source in sources:
        out.print(f"{source.name} ({source.kind.value}):", markup=False)
        mapped = {column: f"{target} ({type_})" for column, target, type_ in source.mapping()}
        for name in source.header:
            if name:
                out.print(f"  {name} → {mapped.get(name, 'skipped')}", markup=False)


def _print_summary(out: Console, summaries: list[FileSummary], dry_run: bool) -> None:
    for summary in summaries:
        one, many = _NOUNS[summary.kind]
        noun = one if summary.stored == 1 else many
        line = f"{summary.name}: {_plural(summary.rows, 'row')} → {summary.stored:,} {noun}"
        if summary.duplicates:
            line += f", {summary.duplicates:,} already received (skipped)"
        if summary.unkeyed:
            line += f", {summary.unkeyed:,} without id or timestamp (a re-import records them again)"
        out.print(line, markup=False)
    stored = sum(summary.stored for summary in summaries)
    if dry_run:
        out.print(f"dry run: {_plural(stored, 'input')} would be stored; nothing was", markup=False)
    else:
        out.print(f"stored {_plural(stored, 'input')} in the inbox", markup=False)


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


class _RateColumn(ProgressColumn):
    """Rows per second over the whole phase (steadier than a moving window)."""

    def render(self, task: Task) -> Text:
        elapsed = task.finished_time or task.elapsed
        rate = f"{task.completed / elapsed:,.0f} rows/s" if elapsed and task.completed else ""
        return Text(rate, style="progress.data.speed")


class _CountColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        total = f"/{task.total:,.0f}" if task.total is not None else ""
        return Text(f"{task.completed:,.0f}{total} rows", style="progress.download")


class _RichProgress:
    """Rows checked, stored and applied, with their rate, on standard error."""

    def __init__(self, console: Console, quiet: bool) -> None:
        self.bars = Progress(TextColumn("{task.description}", table_column=Column(
                                 max_width=32, no_wrap=True, overflow="ellipsis")),
                             BarColumn(bar_width=16),
                             _CountColumn(table_column=Column(no_wrap=True)),
                             _RateColumn(table_column=Column(no_wrap=True)),
                             TimeElapsedColumn(), console=console, disable=quiet)
        self.task: TaskID | None = None

    def __enter__(self) -> _RichProgress:
        self.bars.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._finish()
        self.bars.stop()

    def begin(self, description: str, total: int | None) -> None:
        self._finish()
        self.task = self.bars.add_task(description, total=total)

    def advance(self, rows: int) -> None:
        if self.task is not None:
            self.bars.advance(self.task, rows)

    def _finish(self) -> None:
        if self.task is not None:  # a finished task shows its overall rate
            done = next(task.completed for task in self.bars.tasks if task.id == self.task)
            self.bars.update(self.task, total=done, completed=done)


def register(app: typer.Typer) -> None:
    """Add the ``import`` command to the main application."""
    app.command("import")(import_files)
