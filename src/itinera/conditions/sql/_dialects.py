"""SQLite and PostgreSQL: how each binds numbers and strings, orders and folds text, tests
substrings and calls the instant functions (see ``_functions``). How each reads a JSON path is
the typed values' business (``_values.json_value``), which build on this module."""

from __future__ import annotations

import math
from decimal import Decimal

import sqlalchemy as sa

from itinera.conditions.sql._expr import Bool, Expr

__all__ = ["DIALECTS", "Dialect"]

_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LOWER = "abcdefghijklmnopqrstuvwxyz"


class Dialect:
    """What the compiler asks of a database. The methods with a body here are SQLite's, and
    PostgreSQL's too unless it overrides them."""

    name = "sqlite"  # SQLAlchemy's name of the dialect

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
    name = "postgresql"

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
