"""Typed values: what a condition path names, as SQL, and the tests the operators make of it.

A ``Value`` is one of: ``Missing`` (the path cannot name anything here); a ``Column`` of a
known kind (string, number, boolean) or an ``InstantColumn`` (a timestamp), where SQL NULL is
missing; or a JSON value (``SqliteJson``, ``PgJson``), where absent and JSON null are missing
and the JSON type is read from ``json_type``/``jsonb_typeof``, never from the extracted value.
Instants are compared as epoch seconds between two ``Bound``s, exact microseconds.
``json_value`` reads a path of object keys in a JSON column, as each database does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import ClassVar

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from itinera.conditions.sql._dialects import Dialect
from itinera.conditions.sql._expr import Bool, Expr, all_of, exists, scalar

__all__ = ["EPOCH", "Bound", "Column", "InstantColumn", "Missing", "PgJson", "SqliteJson", "Value",
           "json_value", "micros"]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def micros(value: timedelta) -> int:
    """``value`` in whole microseconds."""
    return value // timedelta(microseconds=1)


@dataclass(frozen=True)
class Bound:
    """One end of an interval of instants, in microseconds since the epoch (exact)."""

    micros: int
    inclusive: bool

    def seconds(self) -> Expr:
        # int / int is correctly rounded: the same double as (instant - epoch) / 1s.
        return sa.literal(self.micros / 1_000_000, sa.Float)


class Value:
    """A value a path names, in one scope of one query; by default present but not comparable
    (a mapping, say): every test but ``exists``/``ne``/``nin`` is false."""

    def __init__(self, dialect: Dialect) -> None:
        self.d = dialect

    def missing(self) -> Bool:
        return sa.false()

    def of_type(self, kind: str) -> Bool:  # kind: string, number, bool, array
        return sa.false()

    def text(self) -> Expr:  # only read where of_type("string") holds
        return sa.null()

    def number(self) -> Expr:  # only read where of_type("number") holds
        return sa.null()

    def is_bool(self, value: bool) -> Bool:
        return sa.false()

    def any_element(self, test: Callable[[Value], Bool]) -> Bool:
        return sa.false()

    def instant(self) -> Expr | None:
        """Epoch seconds (double) when the value reads as an instant, else NULL."""
        return None

    def instant_in(self, low: Bound | None, high: Bound | None) -> Bool:
        instant = self.instant()
        if instant is None:
            return sa.false()
        tests: list[Bool] = [instant.is_not(None)] if low is None and high is None else []
        if low is not None:
            bound = low.seconds()
            tests.append(instant >= bound if low.inclusive else instant > bound)
        if high is not None:
            bound = high.seconds()
            tests.append(instant <= bound if high.inclusive else instant < bound)
        return all_of(*tests)


class Missing(Value):
    """What a path names where there is nothing to read (``person.*`` outside ``people``, say)."""

    def missing(self) -> Bool:
        return sa.true()


class Column(Value):
    """A column of one kind (``string``, ``number`` or ``bool``): NULL is missing, any other
    value is of that kind. String and number columns also read as instants."""

    def __init__(self, dialect: Dialect, column: Expr, kind: str) -> None:
        super().__init__(dialect)
        self.column = column
        self.kind = kind

    def missing(self) -> Bool:
        return self.column.is_(None)

    def of_type(self, kind: str) -> Bool:
        return self.column.is_not(None) if kind == self.kind else sa.false()

    def text(self) -> Expr:
        return self.column if self.kind == "string" else super().text()

    def number(self) -> Expr:
        return self.column if self.kind == "number" else super().number()

    def is_bool(self, value: bool) -> Bool:
        if self.kind != "bool":
            return super().is_bool(value)
        return self.column == (sa.true() if value else sa.false())

    def instant(self) -> Expr | None:
        if self.kind == "string":
            return self.d.text_instant(self.column)
        if self.kind == "number":
            return self.d.number_instant(self.column)
        return None


class InstantColumn(Column):
    """A timestamp column: of no JSON kind, it reads as a datetime, so only the date operators
    see its value; they compare it with bound datetimes (exact to the microsecond)."""

    def __init__(self, dialect: Dialect, column: Expr) -> None:
        super().__init__(dialect, column, "instant")

    def instant_in(self, low: Bound | None, high: Bound | None) -> Bool:
        tests: list[Bool] = [self.column.is_not(None)] if low is None and high is None else []
        if low is not None:
            at = _datetime(low.micros)
            if at is not None:
                bound = sa.literal(at, self.column.type)
                tests.append(self.column >= bound if low.inclusive else self.column > bound)
            elif low.micros > 0:
                return sa.false()  # after the last representable instant
        if high is not None:
            at = _datetime(high.micros)
            if at is not None:
                bound = sa.literal(at, self.column.type)
                tests.append(self.column <= bound if high.inclusive else self.column < bound)
            elif high.micros < 0:
                return sa.false()  # before the first representable instant
        return all_of(*tests)


def _datetime(us: int) -> datetime | None:
    try:
        return EPOCH + timedelta(microseconds=us)
    except OverflowError:
        return None


class _Json(Value):
    """A JSON value; ``type_`` names its JSON type in the dialect's words (NULL when absent)."""

    def __init__(self, dialect: Dialect, type_: Expr) -> None:
        super().__init__(dialect)
        self.type_ = type_

    def missing(self) -> Bool:
        return sa.func.coalesce(self.type_, "null") == "null"


class SqliteJson(_Json):
    """A JSON value on SQLite: its ``json_type`` and its ``json_extract`` value (which turns
    ``true`` into 1, so types are only ever read from ``json_type``)."""

    TYPES: ClassVar[dict[str, tuple[str, ...]]] = {
        "string": ("text",), "number": ("integer", "real"), "bool": ("true", "false"),
        "array": ("array",),
    }

    def __init__(self, dialect: Dialect, type_: Expr, value: Expr) -> None:
        super().__init__(dialect, type_)
        self.value = value

    def of_type(self, kind: str) -> Bool:
        names = self.TYPES[kind]
        return self.type_ == names[0] if len(names) == 1 else self.type_.in_(names)

    def text(self) -> Expr:
        return self.value

    def number(self) -> Expr:
        return self.value

    def is_bool(self, value: bool) -> Bool:
        return self.type_ == ("true" if value else "false")

    def any_element(self, test: Callable[[Value], Bool]) -> Bool:
        array = sa.case((self.type_ == "array", self.value), else_=sa.literal("[]"))
        items = sa.func.json_each(array).table_valued("type", "value")
        element = SqliteJson(self.d, items.c.type, items.c.value)
        # The type first: SQLite then runs the subquery for arrays only.
        return all_of(self.of_type("array"), exists(items, test(element)))

    def instant(self) -> Expr | None:
        return sa.case(
            (self.type_.in_(("integer", "real", "text")),
             sa.func.itinera_instant(self.value, type_=sa.Float)),
            else_=sa.null(),
        )


class PgJson(_Json):
    """A JSONB value on PostgreSQL, typed by ``jsonb_typeof``."""

    TYPES: ClassVar[dict[str, str]] = {
        "string": "string", "number": "number", "bool": "boolean", "array": "array",
    }

    def __init__(self, dialect: Dialect, value: Expr) -> None:
        super().__init__(dialect, sa.func.jsonb_typeof(value, type_=sa.String))
        self.value = value

    def of_type(self, kind: str) -> Bool:
        return self.type_ == self.TYPES[kind]

    def text(self) -> Expr:
        return self.value.op("#>>", return_type=sa.Text)(sa.literal_column("'{}'"))

    def number(self) -> Expr:
        return sa.case((self.type_ == "number", sa.cast(self.value, sa.Numeric)),
                       else_=sa.null())

    def is_bool(self, value: bool) -> Bool:
        return all_of(self.type_ == "boolean", self.text() == ("true" if value else "false"))

    def any_element(self, test: Callable[[Value], Bool]) -> Bool:
        array = sa.case((self.type_ == "array", self.value),
                        else_=sa.cast(sa.literal("[]"), JSONB))
        items = sa.func.jsonb_array_elements(array).table_valued(sa.column("value", JSONB))
        return all_of(self.of_type("array"), exists(items, test(PgJson(self.d, items.c.value))))

    def instant(self) -> Expr | None:
        return sa.func.itinera_json_instant(self.value, type_=sa.Float)


# Object keys that SQLite 3.40's JSON paths find as written: its path lookup compares the key
# with the *raw* JSON text, so keys that JSON escapes (quote, backslash, control and, with
# json.dumps's ensure_ascii, every non-ASCII character) are looked up with json_each instead.
_PLAIN_KEY = re.compile(r"[ !#-\[\]-~]+")


def json_value(dialect: Dialect, column: Expr, names: Sequence[str]) -> Value:
    """The value at the object keys ``names`` in the JSON ``column`` (itself when none)."""
    if dialect.name == "postgresql":
        value = column
        for name in names:
            value = value.op("->", return_type=JSONB)(sa.literal(name, sa.Text))
        return PgJson(dialect, value)
    if all(_PLAIN_KEY.fullmatch(name) for name in names):
        path = sa.literal("$" + "".join(f'."{name}"' for name in names))
        return SqliteJson(dialect, sa.func.json_type(column, path, type_=sa.String),
                          sa.func.json_extract(column, path))
    # Step through objects with json_each, which decodes keys.
    document: Expr = column
    for name in names[:-1]:
        step = sa.func.json_each(document).table_valued("key", "type", "value")
        document = scalar(step, step.c.value, step.c.key == name, step.c.type == "object")
    last = sa.func.json_each(document).table_valued("key", "type", "value")
    return SqliteJson(dialect, scalar(last, last.c.type, last.c.key == names[-1]),
                      scalar(last, last.c.value, last.c.key == names[-1]))
