"""CSV import of accounts, people, buying-group members and events (``itinera import``).

A file is read twice, streaming, so memory stays bounded whatever its length. The first pass
checks every row — values of declared types, required fields, cells per row — and learns the
type of each attribute column (a column whose every value is an integer holds integers, and so
on); nothing is stored when any row is bad, and every problem is listed with its place
(``people.csv line 17, column email: ...``). The second pass builds the inputs an API client
would send (``{"upsert_person": {...}}``) and hands them to ``Service.submit`` in batches, all in
one transaction of the receiving store: the whole import lands in the inbox, or none of it.

Mapping: a column is mapped by ``ImportOptions.columns`` (header -> field), else by its name
(``email``, ``Account ID`` -> ``account``...), else it becomes an attribute (an event property)
named as its header in snake case (``Renewal Date`` -> ``renewal_date``), the style journeys
use. Empty cells are left out, so an upsert keeps what it had.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, BinaryIO, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from itinera.errors import DefinitionError, Problem
from itinera.timeutil import format_instant, parse_data_instant, parse_instant

__all__ = ["ColumnSpec", "ColumnType", "CsvSource", "ImportOptions", "Kind", "convert", "kind_of_file",
           "snake_case"]


class Kind(StrEnum):
    """What a file holds, and so which input each of its rows becomes; in the order files are
    imported (what rows refer to comes first)."""

    ACCOUNTS = "accounts"
    PEOPLE = "people"
    BUYING_GROUPS = "buying-groups"
    EVENTS = "events"


ColumnType = Literal["string", "integer", "number", "boolean", "date", "json"]

# The built-in fields of each kind with their types ("instant": ISO-8601 or Unix seconds;
# "list": values separated by ";"). Anything else is an attribute (a property for events).
FIELDS: dict[Kind, dict[str, str]] = {
    Kind.ACCOUNTS: {"id": "string", "csm": "string", "created_at": "instant", "playbooks": "list"},
    Kind.PEOPLE: {"id": "string", "account": "string", "email": "string", "unsubscribed": "boolean",
                  "score": "number"},
    Kind.EVENTS: {"id": "string", "type": "string", "account": "string", "person": "string",
                  "at": "instant"},
    Kind.BUYING_GROUPS: {"account": "string", "solution": "string", "person": "string",
                         "role": "string", "template": "string"},
}
REQUIRED = {Kind.ACCOUNTS: ("id",), Kind.PEOPLE: ("id",), Kind.EVENTS: ("type",),
            Kind.BUYING_GROUPS: ("account", "solution", "person", "role")}
# Header names CRMs and warehouses commonly use for the built-in fields (compared lower-cased,
# spaces and hyphens as underscores).
ALIASES: dict[Kind, dict[str, str]] = {
    Kind.ACCOUNTS: {"account_id": "id"},
    Kind.PEOPLE: {"person_id": "id", "contact_id": "id", "user_id": "id", "account_id": "account",
                  "email_address": "email"},
    Kind.EVENTS: {"event_id": "id", "event": "type", "event_type": "type", "account_id": "account",
                  "person_id": "person", "contact_id": "person", "user_id": "person",
                  "timestamp": "at", "occurred_at": "at", "time": "at"},
    Kind.BUYING_GROUPS: {"account_id": "account", "person_id": "person", "contact_id": "person"},
}
BAGS = {Kind.ACCOUNTS: "attributes", Kind.PEOPLE: "attributes", Kind.EVENTS: "properties",
        Kind.BUYING_GROUPS: None}
INPUT_KINDS = {Kind.ACCOUNTS: "upsert_account", Kind.PEOPLE: "upsert_person", Kind.EVENTS: "event",
               Kind.BUYING_GROUPS: "add_to_buying_group"}
_NOUNS = {Kind.ACCOUNTS: "account", Kind.PEOPLE: "person", Kind.EVENTS: "event",
          Kind.BUYING_GROUPS: "buying-group member"}
_FILE_WORDS = {"accounts": Kind.ACCOUNTS, "account": Kind.ACCOUNTS, "people": Kind.PEOPLE,
               "person": Kind.PEOPLE, "events": Kind.EVENTS, "event": Kind.EVENTS,
               "buying-groups": Kind.BUYING_GROUPS, "buying-group": Kind.BUYING_GROUPS}

_BOOLEANS = {"true": True, "false": False, "yes": True, "no": False, "1": True, "0": False}
_INTEGER = re.compile(r"^[+-]?[0-9]+$")
_NUMBER = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$")
# What inference takes for a number: plain decimals without leading zeros, so that zip codes,
# phone numbers and ids like "00123" or "1e5" stay text.
_PLAIN_INTEGER = re.compile(r"^-?(0|[1-9][0-9]{0,17})$")
_PLAIN_DECIMAL = re.compile(r"^-?(0|[1-9][0-9]*)\.[0-9]+$")
_INFERABLE = ("integer", "number", "boolean")


class ColumnSpec(BaseModel):
    """Where one column goes: a field (``email``, ``attributes.tier``, ``-`` to skip) and/or
    the type of its values."""

    model_config = ConfigDict(extra="forbid")
    field: str | None = None
    type: ColumnType | None = None


class ImportOptions(BaseModel):
    """How files are read and mapped (the ``--mapping`` YAML file has this shape)."""

    model_config = ConfigDict(extra="forbid")
    columns: dict[str, str | ColumnSpec] = Field(default_factory=dict)
    unmapped: Literal["attributes", "ignore", "error"] = "attributes"
    infer: bool = True
    delimiter: str = Field(",", min_length=1, max_length=1)
    encoding: str = "utf-8-sig"

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            name = codecs.lookup(value).name
        except LookupError:
            raise ValueError(f"unknown encoding {value!r} (e.g. utf-8, cp1252, latin-1)") from None
        if name.startswith(("utf-16", "utf-32")):  # lines are split on the byte of a newline
            raise ValueError(f"{value} is not supported: save the file as UTF-8")
        return value

    def spec(self, column: str) -> ColumnSpec | None:
        found = self.columns.get(column)
        return ColumnSpec(field=found) if isinstance(found, str) else found


def kind_of_file(path: Path) -> Kind | None:
    """The kind a file's name announces (``accounts.csv``, ``crm-people.csv``,
    ``buying_groups_2026.csv``), or None when it names none or several."""
    words = path.stem.lower().replace("_", "-")
    found = {kind for word, kind in _FILE_WORDS.items()
             if re.search(rf"(^|[^a-z]){re.escape(word)}($|[^a-z])", words)}
    return found.pop() if len(found) == 1 else None


def convert(text: str, type_: str) -> Any:
    """A cell's text as a value of ``type_``; raises ValueError saying what was expected."""
    if type_ == "string":
        return text
    if type_ == "integer":
        if not _INTEGER.match(text):
            raise ValueError(f"expected an integer, got {text!r}")
        return int(text)
    if type_ == "number":
        if not _NUMBER.match(text):
            raise ValueError(f"expected a number, got {text!r}")
        return int(text) if _INTEGER.match(text) else float(text)
    if type_ == "boolean":
        if text.lower() not in _BOOLEANS:
            raise ValueError(f"expected true or false (or yes/no, 1/0), got {text!r}")
        return _BOOLEANS[text.lower()]
    if type_ == "date":  # dates stay the strings written, in a form conditions read as a date
        if parse_data_instant(text) is None:
            raise ValueError(f"expected a date such as 2026-03-01 or 2026-03-01T09:00:00Z, got {text!r}")
        return text
    if type_ == "instant":
        if _NUMBER.match(text):  # Unix seconds, as warehouses export them
            instant = parse_data_instant(float(text))
            if instant is None:
                raise ValueError(f"{text!r} is out of range as Unix seconds")
            return format_instant(instant)
        parse_instant(text)
        return text
    if type_ == "list":
        return [item.strip() for item in text.split(";") if item.strip()]
    if type_ == "json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"expected JSON, got {text!r} ({error.msg})") from None
    raise ValueError(f"unknown type {type_!r}")


def snake_case(header: str) -> str:
    """The attribute name a header becomes, in the style journeys use: ``Renewal Date`` ->
    ``renewal_date``, ``annualRevenue`` -> ``annual_revenue``, ``ARR (USD)`` -> ``arr_usd``."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", header.strip())
    return re.sub(r"\W+", "_", spaced.lower()).strip("_") or header


@dataclass(frozen=True)
class Column:
    """A column that is imported: its position, header, destination and value type."""

    index: int
    name: str
    field: str | None  # a built-in field, or None for an attribute / property
    key: str | None  # the attribute's (property's) name
    type: str  # the built-in's type, the declared one, or "auto" (learned by the check)

    def target(self, bag: str | None) -> str:
        return self.field if self.field is not None else f"{bag}.{self.key}"


@dataclass
class CsvSource:
    """One CSV file to import: its kind, how its columns map, and (after ``check``) its rows."""

    path: Path
    kind: Kind
    options: ImportOptions = field(default_factory=ImportOptions)
    name: str = ""
    columns: list[Column] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # of the header and the mapping
    header: list[str] = field(default_factory=list)
    rows: int = 0  # counted by check()
    width: int = 0
    _learned: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.name = self.name or str(self.path)
        self.bag = BAGS[self.kind]
        try:
            with self.path.open("rb") as handle:
                header = next(csv.reader(self._decoded(handle), delimiter=self.options.delimiter), None)
        except (OSError, UnicodeDecodeError, csv.Error) as error:
            self.problems.append(Problem(self.name, _reading_error(error, self.options.encoding)))
            return
        if not header:
            self.problems.append(Problem(self.name, "empty file: the first line must name the columns"))
            return
        # A byte-order mark read with --encoding utf-8 (not utf-8-sig) is no part of a name.
        self.header = [cell.lstrip("\ufeff").strip() for cell in header]
        self.width = max((i + 1 for i, name in enumerate(self.header) if name), default=0)
        self._plan(self.header)

    @property
    def fields(self) -> set[str]:
        return {c.field for c in self.columns if c.field is not None}

    def mapping(self) -> list[tuple[str, str, str]]:
        """(column, destination, type) of every imported column, types as learned."""
        return [(c.name, c.target(self.bag), self._learned.get(c.index, c.type)) for c in self.columns]

    def _decoded(self, handle: BinaryIO) -> Iterator[str]:
        """The file's lines as text, decoded one by one so that a decoding error has its line."""
        decoder = codecs.getincrementaldecoder(self.options.encoding)()
        for raw in handle:
            yield decoder.decode(raw)

    def _plan(self, header: list[str]) -> None:
        seen: dict[str, int] = {}
        claimed: dict[str, str] = {}
        for index, name in enumerate(header):
            if not name:
                continue  # a trailing delimiter; cells there must be empty (see _entry)
            if name in seen:
                self.problems.append(Problem(f"{self.name} line 1", f"column {name!r} appears twice"))
                continue
            seen[name] = index
            column = self._column(index, name)
            if column is None:
                continue
            target = column.target(self.bag)
            if target in claimed:
                self.problems.append(Problem(
                    f"{self.name} line 1", f"columns {claimed[target]!r} and {name!r} both map to {target}"))
                continue
            claimed[target] = name
            self.columns.append(column)
        for required in REQUIRED[self.kind]:
            if required not in self.fields:
                self.problems.append(Problem(self.name, f"no column for {required!r}: every "
                                             f"{_NOUNS[self.kind]} needs one (--map COLUMN={required})"))

    def _column(self, index: int, name: str) -> Column | None:
        spec = self.options.spec(name)
        place = f"{self.name} column {name}"
        target = spec.field if spec is not None and spec.field is not None else self._default(name, place)
        if target is None or target.strip() == "-":
            return None
        field_, key, message = self._resolve(target)
        if message is not None:
            self.problems.append(Problem(place, message))
            return None
        declared = spec.type if spec is not None else None
        if field_ is None:
            return Column(index, name, None, key, declared or ("auto" if self.options.infer else "string"))
        if declared is not None:
            self.problems.append(Problem(place, f"{field_} has a fixed type ({FIELDS[self.kind][field_]}); "
                                         "declare the types of attribute columns only"))
        return Column(index, name, field_, None, FIELDS[self.kind][field_])

    def _default(self, name: str, place: str) -> str | None:
        """Where an unmapped column goes: its built-in field, the attribute it names
        (``attributes.tier``), an attribute named as the header, or nowhere (``-``)."""
        builtin = self._field(name)
        if builtin is not None:
            return builtin
        if name.partition(".")[0] in ("attributes", "properties"):
            return name
        if self.options.unmapped == "ignore":
            return "-"
        if self.options.unmapped == "attributes" and self.bag is not None:
            return f"{self.bag}.{snake_case(name)}"
        self.problems.append(Problem(place, f"maps to no field of {self.kind.value} ({self._field_list()}): "
                                     f"map it with --map '{name}=FIELD' or skip it with --map '{name}=-'"))
        return None

    def _field(self, name: str) -> str | None:
        normal = snake_case(name)
        return normal if normal in FIELDS[self.kind] else ALIASES[self.kind].get(normal)

    def _field_list(self) -> str:
        fields = ", ".join(FIELDS[self.kind])
        return f"{fields} or {self.bag}.<name>" if self.bag else fields

    def _resolve(self, target: str) -> tuple[str | None, str | None, str | None]:
        """(field, attribute key, problem) of a destination written by the user."""
        prefix, dot, rest = target.partition(".")
        if dot and prefix in ("attributes", "properties"):
            if self.bag is None:
                return None, None, f"{self.kind.value} rows have no {prefix}: fields are {self._field_list()}"
            if prefix != self.bag:
                return None, None, f"{self.kind.value} have {self.bag}, not {prefix}: write {self.bag}.{rest}"
            if not rest.strip():
                return None, None, f"name it: {prefix}.<name>"
            return None, rest.strip(), None
        builtin = self._field(target)
        if builtin is None:
            return None, None, f"no field {target!r} for {self.kind.value}: fields are {self._field_list()}"
        return builtin, None, None

    # -- reading ---------------------------------------------------------------------------
    def _lines(self) -> Iterator[tuple[int, list[str]]]:
        """(line where the row starts, cells) of each non-blank row; a file that cannot be read
        on raises DefinitionError at its line."""
        line = 2
        with self.path.open("rb") as handle:
            reader = csv.reader(self._decoded(handle), delimiter=self.options.delimiter, strict=True)
            try:
                next(reader, None)
                for cells in reader:
                    if any(cell.strip() for cell in cells):
                        yield line, cells
                    line = reader.line_num + 1
            except (UnicodeDecodeError, csv.Error) as error:
                line = reader.line_num + (0 if isinstance(error, csv.Error) else 1)
                message = _reading_error(error, self.options.encoding)
                raise DefinitionError([Problem(f"{self.name} line {line}", message)]) from None

    def check(self, on_rows: Callable[[int], None] = lambda n: None, limit: int = 1000) -> list[Problem]:
        """Every problem of the rows (at most ``limit`` of them listed; the last line then says
        how many more), and the types of the attribute columns, learned from all their values."""
        problems: list[Problem] = []
        more = 0
        candidates = {c.index: set(_INFERABLE) for c in self.columns if c.type == "auto"}
        filled: set[int] = set()
        self.rows = 0
        try:
            for line, cells in self._lines():
                self.rows += 1
                _, found = self._entry(line, cells)
                for index, kinds in candidates.items():
                    text = cells[index].strip() if index < len(cells) else ""
                    if text:
                        filled.add(index)
                        kinds.intersection_update(_kinds_of(text))
                more += max(0, len(found) - (limit - len(problems)))
                problems.extend(found[:max(0, limit - len(problems))])
                if self.rows % 1000 == 0:
                    on_rows(1000)
        except DefinitionError as error:
            problems.extend(error.problems)
        on_rows(self.rows % 1000)
        self._learned = {index: next((k for k in _INFERABLE if k in kinds), "string")
                         if index in filled else "string" for index, kinds in candidates.items()}
        if more:
            problems.append(Problem(self.name, f"and {more:,} more problems"))
        return problems

    def entries(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """(line, input) of every row, after ``check`` found no problem. Raises DefinitionError
        should a row be bad now (the file changed since)."""
        for line, cells in self._lines():
            entry, problems = self._entry(line, cells)
            if problems or entry is None:
                raise DefinitionError(problems)
            yield line, entry

    def _entry(self, line: int, cells: list[str]) -> tuple[dict[str, Any] | None, list[Problem]]:
        here = f"{self.name} line {line}"
        if len(cells) < self.width or any(cell.strip() for cell in cells[self.width:]):
            return None, [Problem(here, f"{len(cells)} cells, but the header has {self.width} columns "
                                        "(a quote left open, or a delimiter inside an unquoted value?)")]
        problems: list[Problem] = []
        record: dict[str, Any] = {}
        bag: dict[str, Any] = {}
        texts: list[tuple[str, str]] = []
        for column in self.columns:
            text = cells[column.index].strip()
            if not text:
                continue
            type_ = self._learned.get(column.index, column.type)
            try:
                value = convert(text, "string" if type_ == "auto" else type_)
            except ValueError as error:
                problems.append(Problem(f"{here}, column {column.name}", str(error)))
                continue
            texts.append((column.target(self.bag), text))
            if column.field is not None:
                record[column.field] = value
            else:
                bag[str(column.key)] = value
        by_field = {c.field: c.name for c in self.columns if c.field is not None}
        for required in REQUIRED[self.kind]:
            if required not in record and required in by_field:
                problems.append(Problem(f"{here}, column {by_field[required]}",
                                        f"empty, but every {_NOUNS[self.kind]} needs one"))
        if self.kind is Kind.EVENTS and "account" not in record and "person" not in record:
            problems.append(Problem(here, "an event belongs to an account or a person: both are empty"))
        if problems:
            return None, problems
        if bag and self.bag is not None:
            record[self.bag] = bag
        if self.kind is Kind.EVENTS and "id" not in by_field and "at" in record:
            # No id column: an id derived from the row makes a re-import of the file a no-op.
            digest = hashlib.sha256(json.dumps(sorted(texts), ensure_ascii=False).encode()).hexdigest()
            record["id"] = f"csv-{digest[:32]}"
        return {INPUT_KINDS[self.kind]: record}, []


def _kinds_of(text: str) -> set[str]:
    kinds = set()
    if _PLAIN_INTEGER.match(text):
        kinds |= {"integer", "number"}
    elif _PLAIN_DECIMAL.match(text):
        kinds.add("number")
    if text.lower() in ("true", "false"):
        kinds.add("boolean")
    return kinds


def _reading_error(error: Exception, encoding: str) -> str:
    if isinstance(error, UnicodeDecodeError):
        return (f"not {encoding} text ({error.reason} at byte {error.start + 1} of the line); "
                "give its encoding, e.g. --encoding cp1252")
    if isinstance(error, OSError):
        return f"cannot read: {error.strerror or error}"
    return f"not readable as CSV: {error}"
