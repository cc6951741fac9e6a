"""SQLite and PostgreSQL: how each reads JSON paths, binds numbers and strings, orders and
folds text, tests substrings and calls the instant functions (see ``_functions``)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from itinera.conditions.sql._expr import Bool, Expr, scalar
from itinera.conditions.sql._values import PgJson, SqliteJson, Value

__all__ = ["DIALECTS", "Dialect"]

_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LOWER = "abcdefghijklmnopqrstuvwxyz"
# Object keys that SQLite 3.40's JSON paths find as written: its path lookup compares the key
# with the *raw* JSON text, so keys that JSON escapes (quote, backslash, control and, with
# json.dumps's ensure_ascii, every non-ASCII character) are looked up with json_each instead.
_PLAIN_KEY = re.compile(r"[ !#-\[\]-~]+")


class Dialect:
    """What the compiler asks of a database. The methods with a body here are SQLite's, and
    PostgreSQL's too unless it overrides them."""

    def json(self, column: Expr, names: Sequence[str]) -> Value:
        """The value at the object keys ``names`` in the JSON ``column`` (itself when none)."""
        raise NotImplementedError

    def number(self, value: int | float) -> Expr:
        if isinstance(value, int) and not -(2**63) <= value < 2**63:
            # Beyond SQLite's integers: the nearest double (JSON numbers there are doubles too).
            try:
                return sa.literal(float(value))
            except OverflowError:
                return sa.literal(math.inf if value > 0 else -math.inf)
        return sa.literal(value)

    def string(self, value: str) -> Expr:
        return sa.literal(value, sa.String)

    def ordered(self, text: Expr) -> Expr:
        """``text`` compared in code-point order."""
        return text

    def fold(self, text: Expr) -> Expr:
        """``text`` with ASCII letters (only) in lower case."""
        raise NotImplementedError

    def contains(self, text: Expr, part: str) -> Bool:
        raise NotImplementedError

    def starts_with(self, text: Expr, part: str) -> Bool:
        raise NotImplementedError

    def ends_with(self, text: Expr, part: str) -> Bool:
        raise NotImplementedError

    def number_instant(self, number: Expr) -> Expr:
        raise NotImplementedError

    def text_instant(self, text: Expr) -> Expr:
        return sa.func.itinera_instant(text, type_=sa.Float)


class _Sqlite(Dialect):
    def json(self, column: Expr, names: Sequence[str]) -> Value:
        if all(_PLAIN_KEY.fullmatch(name) for name in names):
            path = sa.literal("$" + "".join(f'."{name}"' for name in names))
            return SqliteJson(self, sa.func.json_type(column, path, type_=sa.String),
                              sa.func.json_extract(column, path))
        # Step through objects with json_each, which decodes keys.
        document: Expr = column
        for name in names[:-1]:
            step = sa.func.json_each(document).table_valued("key", "type", "value")
            document = scalar(step, step.c.value, step.c.key == name, step.c.type == "object")
        last = sa.func.json_each(document).table_valued("key", "type", "value")
        return SqliteJson(self, scalar(last, last.c.type, last.c.key == names[-1]),
                          scalar(last, last.c.value, last.c.key == names[-1]))

    def fold(self, text: Expr) -> Expr:
        return sa.func.lower(text)  # ASCII-only in SQLite (without ICU)

    def contains(self, text: Expr, part: str) -> Bool:
        return sa.func.instr(text, self.string(part)) > 0

    def starts_with(self, text: Expr, part: str) -> Bool:
        return sa.func.substr(text, 1, len(part)) == self.string(part)

    def ends_with(self, text: Expr, part: str) -> Bool:
        return sa.func.substr(text, -len(part)) == self.string(part)

    def number_instant(self, number: Expr) -> Expr:
        return sa.func.itinera_instant(number, type_=sa.Float)


class _Postgres(Dialect):
    def json(self, column: Expr, names: Sequence[str]) -> Value:
        value = column
        for name in names:
            value = value.op("->", return_type=JSONB)(sa.literal(name, sa.Text))
        return PgJson(self, value)

    def number(self, value: int | float) -> Expr:
        exact = Decimal(value) if isinstance(value, int) else Decimal(repr(value))
        return sa.literal(exact, sa.Numeric)

    def string(self, value: str) -> Expr:
        return sa.literal(value, sa.Text)

    def ordered(self, text: Expr) -> Expr:
        return sa.collate(text, "C")

    def fold(self, text: Expr) -> Expr:
        return sa.func.translate(text, _UPPER, _LOWER, type_=sa.Text)

    def contains(self, text: Expr, part: str) -> Bool:
        return sa.func.strpos(text, self.string(part)) > 0

    def starts_with(self, text: Expr, part: str) -> Bool:
        return sa.func.left(text, len(part), type_=sa.Text) == self.string(part)

    def ends_with(self, text: Expr, part: str) -> Bool:
        return sa.func.right(text, len(part), type_=sa.Text) == self.string(part)

    def number_instant(self, number: Expr) -> Expr:
        return sa.func.itinera_number_instant(number, type_=sa.Float)


# By SQLAlchemy dialect name.
DIALECTS: dict[str, Dialect] = {"sqlite": _Sqlite(), "postgresql": _Postgres()}
