"""Compile a condition tree to SQL: a boolean expression over the ``accounts`` table.

``select(accounts.c.id).where(compile_condition(tree, now, dialect))`` returns exactly the
accounts for which ``evaluate(tree, facts, now)`` is true (``conditions.evaluate`` is the
reference; the property tests in ``tests/contract/test_condition_sql.py`` hold the two together
on SQLite and PostgreSQL). How the reference rules become SQL:

- Every compared value is a *typed value*: a JSON value (attributes, event properties,
  ``account.playbooks``), or a column of a known kind (string, number, boolean, instant).
  Missing means absent or JSON null (SQL NULL for columns). JSON types are read with
  ``json_type`` (SQLite; its ``json_extract`` turns ``true`` into 1, so never trust that for
  types) and ``jsonb_typeof`` (PostgreSQL). Every comparison first checks the JSON type of both
  sides, so a boolean never equals a number and ``"1"`` never equals ``1``.
- Every comparison is made two-valued (``coalesce(..., false)``) so that ``not`` is the
  Python ``not``: SQL's NULL never leaks out of a leaf.
- Strings compare in code-point order: SQLite's BINARY collation, ``COLLATE "C"`` on
  PostgreSQL. ``eq_ci``/``contains_ci`` fold ASCII letters only: ``lower()`` on SQLite (ASCII-only
  unless SQLite was built with ICU), ``translate()`` with the 26 letters on PostgreSQL.
  Substring tests use ``instr``/``strpos`` and ``substr``/``left``/``right``, never LIKE.
- Numbers compare as numbers: SQLite compares integers and reals exactly; on PostgreSQL JSON
  numbers are ``numeric`` and values are bound as ``numeric`` from their ``repr``, so two floats
  compare as Python compares them (and ints with floats, below 2**52 in magnitude).
- Date operators read the value with ``timeutil.parse_data_instant`` semantics as epoch
  seconds in double precision: on SQLite through the function ``itinera_instant`` that
  ``install_sqlite_functions`` registers (it *is* ``parse_data_instant``), on PostgreSQL
  through ``itinera_instant(text)``, ``itinera_number_instant(double precision)`` and
  ``itinera_json_instant(jsonb)`` that ``install_postgres_functions`` creates (a port of the
  same rules, including what Python's ``fromisoformat`` rejects or oddly accepts). Bounds
  (``now``, ``now ± d``, ``before``/``after``) are bound as the same doubles, computed from
  exact microseconds, so boundaries are exact: two different microsecond instants are two
  different doubles for every year from 1698 to 2241. Instant *columns* (``created_at``,
  ``events.at``) are compared with bound datetimes directly (exact to the microsecond; the
  store keeps them in UTC).
- ``people``, ``performed``, ``buying_group`` and ``in_segment`` are correlated subqueries on
  ``accounts.id``. As in the reference, ``performed`` always counts the events of the account
  (``events.account`` is the account, or ``events.person`` is one of its people) and its
  ``where`` reads only the event's ``properties`` (and ``account.*``); a ``person.*`` path
  outside ``people.match`` is missing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import FromClause, NamedFromClause

from itinera.conditions.tree import (
    All,
    AnyOf,
    BuyingGroupMatch,
    Compare,
    Condition,
    Count,
    InSegment,
    Not,
    PeopleCount,
    Performed,
)
from itinera.storage.schema import accounts, buying_groups, events, people, segment_members
from itinera.timeutil import parse_data_instant

__all__ = ["compile_condition", "install_postgres_functions", "install_sqlite_functions"]

Bool = ColumnElement[bool]
Expr = ColumnElement[Any]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LOWER = "abcdefghijklmnopqrstuvwxyz"
# Object keys that SQLite 3.40's JSON paths find as written: its path lookup compares the key
# with the *raw* JSON text, so keys that JSON escapes (quote, backslash, control and, with
# json.dumps's ensure_ascii, every non-ASCII character) are looked up with json_each instead.
_PLAIN_KEY = re.compile(r"[ !#-\[\]-~]+")


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _false() -> Bool:
    return sa.false()


def _true() -> Bool:
    return sa.true()


def _and(*items: Bool) -> Bool:
    return sa.and_(*items) if items else _true()


def _or(*items: Bool) -> Bool:
    return sa.or_(*items) if items else _false()


def _definite(expr: Bool) -> Bool:
    """``expr`` with NULL read as false, so that ``not`` means what it means in Python."""
    return sa.func.coalesce(expr, sa.false(), type_=sa.Boolean)


def _exists(table: FromClause, *where: Bool) -> Bool:
    """EXISTS over ``table``, correlated to every enclosing query (at any depth)."""
    return sa.exists(sa.select(sa.literal(1)).select_from(table).where(*where)
                     .correlate_except(table))


def _scalar(table: FromClause, column: Expr, *where: Bool) -> Expr:
    """A scalar subquery over ``table``, correlated like ``_exists``."""
    return (sa.select(column).select_from(table).where(*where).correlate_except(table)
            .scalar_subquery())


@dataclass(frozen=True)
class _Bound:
    """One end of an interval of instants, in microseconds since the epoch (exact)."""

    micros: int
    inclusive: bool

    def seconds(self) -> Expr:
        # int / int is correctly rounded: the same double as (instant - epoch) / 1s.
        return sa.literal(self.micros / 1_000_000, sa.Float)


def _micros(value: timedelta) -> int:
    return value // timedelta(microseconds=1)


# -- typed values ----------------------------------------------------------------------------


class _Value:
    """A value a path names, in one scope of one query; by default present but not comparable
    (a mapping, say): every test but ``exists``/``ne``/``nin`` is false."""

    def __init__(self, dialect: _Dialect) -> None:
        self.d = dialect

    def missing(self) -> Bool:
        return _false()

    def of_type(self, kind: str) -> Bool:  # kind: string, number, bool, array
        return _false()

    def text(self) -> Expr:  # only read where of_type("string") holds
        return sa.null()

    def number(self) -> Expr:  # only read where of_type("number") holds
        return sa.null()

    def is_bool(self, value: bool) -> Bool:
        return _false()

    def any_element(self, test: Callable[[_Value], Bool]) -> Bool:
        return _false()

    def instant(self) -> Expr | None:
        """Epoch seconds (double) when the value reads as an instant, else NULL."""
        return None

    def instant_in(self, low: _Bound | None, high: _Bound | None) -> Bool:
        instant = self.instant()
        if instant is None:
            return _false()
        tests: list[Bool] = [instant.is_not(None)] if low is None and high is None else []
        if low is not None:
            bound = low.seconds()
            tests.append(instant >= bound if low.inclusive else instant > bound)
        if high is not None:
            bound = high.seconds()
            tests.append(instant <= bound if high.inclusive else instant < bound)
        return _and(*tests)


class _Missing(_Value):
    def missing(self) -> Bool:
        return _true()


class _StringColumn(_Value):
    def __init__(self, dialect: _Dialect, column: Expr) -> None:
        super().__init__(dialect)
        self.column = column

    def missing(self) -> Bool:
        return self.column.is_(None)

    def of_type(self, kind: str) -> Bool:
        return self.column.is_not(None) if kind == "string" else _false()

    def text(self) -> Expr:
        return self.column

    def instant(self) -> Expr | None:
        return self.d.text_instant(self.column)


class _NumberColumn(_Value):
    def __init__(self, dialect: _Dialect, column: Expr) -> None:
        super().__init__(dialect)
        self.column = column

    def missing(self) -> Bool:
        return self.column.is_(None)

    def of_type(self, kind: str) -> Bool:
        return self.column.is_not(None) if kind == "number" else _false()

    def number(self) -> Expr:
        return self.column

    def instant(self) -> Expr | None:
        return self.d.number_instant(self.column)


class _BoolColumn(_Value):
    def __init__(self, dialect: _Dialect, column: Expr) -> None:
        super().__init__(dialect)
        self.column = column

    def missing(self) -> Bool:
        return self.column.is_(None)

    def of_type(self, kind: str) -> Bool:
        return self.column.is_not(None) if kind == "bool" else _false()

    def is_bool(self, value: bool) -> Bool:
        return self.column == (sa.true() if value else sa.false())


class _InstantColumn(_Value):
    """A timestamp column: reads as a datetime, so only the date operators see its value."""

    def __init__(self, dialect: _Dialect, column: Expr) -> None:
        super().__init__(dialect)
        self.column = column

    def missing(self) -> Bool:
        return self.column.is_(None)

    def instant_in(self, low: _Bound | None, high: _Bound | None) -> Bool:
        tests: list[Bool] = [self.column.is_not(None)] if low is None and high is None else []
        if low is not None:
            at = _datetime(low.micros)
            if at is not None:
                bound = sa.literal(at, self.column.type)
                tests.append(self.column >= bound if low.inclusive else self.column > bound)
            elif low.micros > 0:
                return _false()  # after the last representable instant
        if high is not None:
            at = _datetime(high.micros)
            if at is not None:
                bound = sa.literal(at, self.column.type)
                tests.append(self.column <= bound if high.inclusive else self.column < bound)
            elif high.micros < 0:
                return _false()  # before the first representable instant
        return _and(*tests)


def _datetime(micros: int) -> datetime | None:
    try:
        return _EPOCH + timedelta(microseconds=micros)
    except OverflowError:
        return None


class _SqliteJson(_Value):
    """A JSON value on SQLite: its ``json_type`` and its ``json_extract`` value."""

    TYPES: ClassVar[dict[str, tuple[str, ...]]] = {
        "string": ("text",), "number": ("integer", "real"), "bool": ("true", "false"),
        "array": ("array",),
    }

    def __init__(self, dialect: _Dialect, type_: Expr, value: Expr) -> None:
        super().__init__(dialect)
        self.type_ = type_
        self.value = value

    def missing(self) -> Bool:
        return sa.func.coalesce(self.type_, "null") == "null"

    def of_type(self, kind: str) -> Bool:
        names = self.TYPES[kind]
        return self.type_ == names[0] if len(names) == 1 else self.type_.in_(names)

    def text(self) -> Expr:
        return self.value

    def number(self) -> Expr:
        return self.value

    def is_bool(self, value: bool) -> Bool:
        return self.type_ == ("true" if value else "false")

    def any_element(self, test: Callable[[_Value], Bool]) -> Bool:
        array = sa.case((self.type_ == "array", self.value), else_=sa.literal("[]"))
        items = sa.func.json_each(array).table_valued("type", "value")
        element = _SqliteJson(self.d, items.c.type, items.c.value)
        return _exists(items, test(element))

    def instant(self) -> Expr | None:
        return sa.case(
            (self.type_.in_(("integer", "real", "text")),
             sa.func.itinera_instant(self.value, type_=sa.Float)),
            else_=sa.null(),
        )


class _PgJson(_Value):
    """A JSONB value on PostgreSQL."""

    TYPES: ClassVar[dict[str, str]] = {
        "string": "string", "number": "number", "bool": "boolean", "array": "array",
    }

    def __init__(self, dialect: _Dialect, value: Expr) -> None:
        super().__init__(dialect)
        self.value = value
        self.type_ = sa.func.jsonb_typeof(value, type_=sa.String)

    def missing(self) -> Bool:
        return sa.func.coalesce(self.type_, "null") == "null"

    def of_type(self, kind: str) -> Bool:
        return self.type_ == self.TYPES[kind]

    def text(self) -> Expr:
        return self.value.op("#>>", return_type=sa.Text)(sa.literal_column("'{}'"))

    def number(self) -> Expr:
        return sa.case((self.type_ == "number", sa.cast(self.value, sa.Numeric)),
                       else_=sa.null())

    def is_bool(self, value: bool) -> Bool:
        return _and(self.type_ == "boolean", self.text() == ("true" if value else "false"))

    def any_element(self, test: Callable[[_Value], Bool]) -> Bool:
        array = sa.case((self.type_ == "array", self.value),
                        else_=sa.cast(sa.literal("[]"), JSONB))
        items = sa.func.jsonb_array_elements(array).table_valued(sa.column("value", JSONB))
        return _exists(items, test(_PgJson(self.d, items.c.value)))

    def instant(self) -> Expr | None:
        return sa.func.itinera_json_instant(self.value, type_=sa.Float)


# -- the dialects ---------------------------------------------------------------------------


class _Dialect:
    def json(self, column: Expr, names: Sequence[str]) -> _Value:
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


class _Sqlite(_Dialect):
    def json(self, column: Expr, names: Sequence[str]) -> _Value:
        if all(_PLAIN_KEY.fullmatch(name) for name in names):
            path = sa.literal("$" + "".join(f'."{name}"' for name in names))
            return _SqliteJson(self, sa.func.json_type(column, path, type_=sa.String),
                               sa.func.json_extract(column, path))
        # Step through objects with json_each, which decodes keys.
        document: Expr = column
        for name in names[:-1]:
            step = sa.func.json_each(document).table_valued("key", "type", "value")
            document = _scalar(step, step.c.value, step.c.key == name, step.c.type == "object")
        last = sa.func.json_each(document).table_valued("key", "type", "value")
        return _SqliteJson(self, _scalar(last, last.c.type, last.c.key == names[-1]),
                           _scalar(last, last.c.value, last.c.key == names[-1]))

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


class _Postgres(_Dialect):
    def json(self, column: Expr, names: Sequence[str]) -> _Value:
        value = column
        for name in names:
            value = value.op("->", return_type=JSONB)(sa.literal(name, sa.Text))
        return _PgJson(self, value)

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


# -- the compiler ---------------------------------------------------------------------------


def _ascii_lower(text: str) -> str:
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in text)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class _Scope:
    """What the paths of a subtree can read besides the account (as in the reference)."""

    person: NamedFromClause | None = None
    event: NamedFromClause | None = None
    group: NamedFromClause | None = None


_ACCOUNT_COLUMNS = {"id": "string", "csm": "string", "created_at": "instant", "playbooks": "json"}
_PERSON_COLUMNS = {"id": "string", "email": "string", "account": "string", "score": "number",
                   "unsubscribed": "bool"}
_GROUP_COLUMNS = {"engagement_score": "number", "completeness_score": "number",
                  "status": "string"}
_COUNT_OPS: dict[str, Callable[[Expr, Expr], Bool]] = {
    "eq": lambda a, b: a == b, "ne": lambda a, b: a != b, "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b, "lt": lambda a, b: a < b, "lte": lambda a, b: a <= b,
}


class _Compiler:
    def __init__(self, now: datetime, dialect: _Dialect) -> None:
        self.now = _micros(_utc(now) - _EPOCH)
        self.d = dialect

    # structure
    def run(self, tree: Condition, scope: _Scope) -> Bool:
        if isinstance(tree, All):
            return _and(*(self.run(item, scope) for item in tree.items))
        if isinstance(tree, AnyOf):
            return _or(*(self.run(item, scope) for item in tree.items))
        if isinstance(tree, Not):
            return sa.not_(self.run(tree.item, scope))
        if isinstance(tree, Compare):
            return _definite(self.compare(self.value(tree.path, scope), tree.op, tree.value))
        if isinstance(tree, InSegment):
            member = segment_members.alias()
            return _exists(member, member.c.segment == tree.segment,
                           member.c.account == accounts.c.id)
        if isinstance(tree, PeopleCount):
            person = people.alias()
            return self.count(person, [person.c.account == accounts.c.id,
                                       self.run(tree.match, _Scope(person=person))], tree.count)
        if isinstance(tree, Performed):
            return self.performed(tree)
        if isinstance(tree, BuyingGroupMatch):
            group = buying_groups.alias()
            return _exists(group, group.c.account == accounts.c.id,
                           group.c.solution == tree.solution,
                           self.run(tree.match, _Scope(group=group)))
        raise TypeError(f"not a condition: {tree!r}")

    def count(self, table: FromClause, where: list[Bool], count: Count) -> Bool:
        if count.op not in _COUNT_OPS:
            raise ValueError(f"unknown count operator {count.op!r}")
        if (count.op, count.value) in (("gte", 1), ("gt", 0), ("ne", 0)):
            return _exists(table, *where)
        if (count.op, count.value) in (("eq", 0), ("lt", 1), ("lte", 0)):
            return sa.not_(_exists(table, *where))
        n = _scalar(table, sa.func.count(), *where)
        return _COUNT_OPS[count.op](n, sa.literal(count.value, sa.Integer))

    def performed(self, tree: Performed) -> Bool:
        event = events.alias()
        person = people.alias()
        of_a_person = _exists(person, person.c.id == event.c.person,
                              person.c.account == accounts.c.id)
        where: list[Bool] = [event.c.type == tree.event,
                             sa.or_(event.c.account == accounts.c.id, of_a_person)]
        if tree.within_last is not None:
            window = _InstantColumn(self.d, event.c.at)
            where.append(window.instant_in(_Bound(self.now - _micros(tree.within_last), False),
                                           _Bound(self.now, True)))
        if tree.where is not None:
            where.append(self.run(tree.where, _Scope(event=event)))
        return self.count(event, where, tree.count)

    # values
    def value(self, path: tuple[str, ...], scope: _Scope) -> _Value:
        head, rest = path[0], path[1:]
        if head == "properties":
            if scope.event is None:
                return _Missing(self.d)
            return self.d.json(scope.event.c.properties, rest) if rest else _Value(self.d)
        if head == "group":
            if scope.group is None:
                return _Missing(self.d)
            if not rest:
                return _Value(self.d)  # the mapping of the three fields
            kind = _GROUP_COLUMNS.get(rest[0])
            if kind is None or len(rest) > 1:
                return _Missing(self.d)
            return self.column(kind, scope.group.c[rest[0]])
        if head == "account":
            table: FromClause = accounts
            builtins = _ACCOUNT_COLUMNS
        elif head == "person":
            if scope.person is None:
                return _Missing(self.d)
            table, builtins = scope.person, _PERSON_COLUMNS
        else:
            raise ValueError(f"unknown scope {head!r} in path {path!r}")
        if rest[0] == "builtin":
            kind = builtins.get(rest[1])
            if kind is None:
                raise ValueError(f"unknown built-in {rest[1]!r} in path {path!r}")
            return self.column(kind, table.c[rest[1]])
        return self.d.json(table.c.attributes, rest[1:]) if len(rest) > 1 else _Value(self.d)

    def column(self, kind: str, column: Expr) -> _Value:
        if kind == "string":
            return _StringColumn(self.d, column)
        if kind == "number":
            return _NumberColumn(self.d, column)
        if kind == "bool":
            return _BoolColumn(self.d, column)
        if kind == "instant":
            return _InstantColumn(self.d, column)
        return self.d.json(column, ())

    # comparisons
    def same(self, value: _Value, other: Any) -> Bool:
        """``value`` equals ``other`` (a scalar) within one JSON type."""
        if isinstance(other, bool):
            return value.is_bool(other)
        if _is_number(other) and math.isnan(other):
            return _false()  # NaN equals nothing (PostgreSQL's numeric NaN equals itself)
        if _is_number(other):
            return _and(value.of_type("number"), value.number() == self.d.number(other))
        if isinstance(other, str):
            return _and(value.of_type("string"), value.text() == self.d.string(other))
        return _false()

    def compare(self, value: _Value, op: str, operand: Any) -> Bool:
        d = self.d
        if op == "exists":
            return sa.not_(value.missing()) if operand else value.missing()
        if op == "ne":
            return sa.or_(value.missing(), sa.not_(_definite(self.same(value, operand))))
        if op == "eq":
            return self.same(value, operand)
        if op == "in":
            return _or(*(self.same(value, item) for item in operand))
        if op == "nin":
            return _and(sa.not_(value.missing()),
                        sa.not_(_definite(_or(*(self.same(value, item) for item in operand)))))
        if op in _COUNT_OPS:  # gt, gte, lt, lte
            compare = _COUNT_OPS[op]
            if _is_number(operand) and math.isnan(operand):
                return _false()  # nothing is ordered with NaN
            if _is_number(operand):
                return _and(value.of_type("number"), compare(value.number(), d.number(operand)))
            if isinstance(operand, str):
                return _and(value.of_type("string"),
                            compare(d.ordered(value.text()), d.string(operand)))
            return _false()
        if op == "contains":
            member = value.any_element(lambda item: self.same(item, operand))
            if not isinstance(operand, str):
                return member
            return _or(_and(value.of_type("string"), self.substring(value.text(), operand)),
                       member)
        if op == "contains_ci":
            folded = _ascii_lower(operand)
            return _or(
                _and(value.of_type("string"), self.substring(d.fold(value.text()), folded)),
                value.any_element(lambda item: _and(item.of_type("string"),
                                                    d.fold(item.text()) == d.string(folded))),
            )
        if op == "eq_ci":
            return _and(value.of_type("string"),
                        d.fold(value.text()) == d.string(_ascii_lower(operand)))
        if op in ("starts_with", "ends_with"):
            if not operand:
                return value.of_type("string")
            test = d.starts_with if op == "starts_with" else d.ends_with
            return _and(value.of_type("string"), test(value.text(), operand))
        if op in ("within_next", "within_last", "older_than"):
            span = _micros(operand)
            if op == "within_next":  # now < value <= now + d
                return value.instant_in(_Bound(self.now, False), _Bound(self.now + span, True))
            if op == "within_last":  # now - d < value <= now
                return value.instant_in(_Bound(self.now - span, False), _Bound(self.now, True))
            return value.instant_in(None, _Bound(self.now - span, True))  # value <= now - d
        if op in ("before", "after"):
            at = _micros(_utc(operand) - _EPOCH)
            if op == "before":
                return value.instant_in(None, _Bound(at, False))
            return value.instant_in(_Bound(at, False), None)
        raise ValueError(f"unknown operator {op!r}")

    def substring(self, text: Expr, part: str) -> Bool:
        return _true() if not part else self.d.contains(text, part)


_DIALECTS: dict[str, _Dialect] = {"sqlite": _Sqlite(), "postgresql": _Postgres()}


def compile_condition(tree: Condition, now: datetime, dialect: str) -> ColumnElement[bool]:
    """``tree`` as a boolean SQL expression over ``accounts`` (correlated subqueries for
    people, events, buying groups and segments), true exactly where ``evaluate`` is.

    ``now`` (naive means UTC) is bound as a parameter; ``dialect`` is the SQLAlchemy dialect
    name, ``sqlite`` or ``postgresql``. Date operators need the functions that
    ``install_sqlite_functions``/``install_postgres_functions`` install.
    """
    compiler = _DIALECTS.get("postgresql" if dialect == "postgres" else dialect)
    if compiler is None:
        raise ValueError(f"unsupported dialect {dialect!r} (sqlite or postgresql)")
    return _Compiler(now, compiler).run(tree, _Scope())


# -- the functions the date operators call ------------------------------------------------------


def _sqlite_instant(value: object) -> float | None:
    """``itinera_instant(x)`` on SQLite: ``parse_data_instant`` as epoch seconds, or NULL."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        instant = parse_data_instant(value)
        return None if instant is None else (instant - _EPOCH) / _SECOND
    except (OverflowError, ValueError):
        return None


def _register(dbapi_connection: Any) -> None:
    dbapi_connection.create_function("itinera_instant", 1, _sqlite_instant, deterministic=True)


def _on_connect(dbapi_connection: Any, record: Any) -> None:
    _register(dbapi_connection)
    record.info["itinera_functions"] = True


def _on_checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    if not record.info.get("itinera_functions"):  # pooled before the install
        _on_connect(dbapi_connection, record)


def install_sqlite_functions(engine: sa.Engine | sa.Connection) -> None:
    """Register ``itinera_instant`` on every connection of a SQLite engine (idempotent).

    New connections get it when they connect, pooled ones when next checked out; pass a
    Connection to also equip that open connection at once.
    """
    target = engine.engine if isinstance(engine, sa.Connection) else engine
    if not sa_event.contains(target, "connect", _on_connect):
        sa_event.listen(target, "connect", _on_connect)
        sa_event.listen(target, "checkout", _on_checkout)
    if isinstance(engine, sa.Connection):
        _register(engine.connection.dbapi_connection)


# The same rules as timeutil.parse_data_instant under Python 3.11 (3.12 and 3.13 agree): the
# narrow regex (ASCII digits, nothing after the end), then what datetime.fromisoformat accepts:
# a real date from year 1; hour <= 23, minute and second <= 59; an offset of less than 24 hours
# (its minutes may exceed 59: +05:75 is 6h15); and "date+HH:MM"/"date-HH:MM" without a time is
# read as that time of day in UTC (fromisoformat takes the sign for the date-time separator).
# PARALLEL UNSAFE: the EXCEPTION block starts a subtransaction, which parallel workers refuse.
_PG_INSTANT = r"""
CREATE OR REPLACE FUNCTION itinera_instant(value text) RETURNS double precision
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL UNSAFE
SET timezone = 'UTC'
AS $fn$
DECLARE
    m text[];
    hh int := 0;
    mi int := 0;
    ss int := 0;
    frac numeric := 0;
    off int := 0;
    days int;
BEGIN
    m := regexp_match(value, '^([0-9]{4})-([0-9]{2})-([0-9]{2})'
        '(?:[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:[.]([0-9]{1,6}))?)?)?'
        '(?:(Z)|([+-])([0-9]{2}):([0-9]{2}))?$');
    IF m IS NULL THEN
        RETURN NULL;
    END IF;
    days := make_date(m[1]::int, m[2]::int, m[3]::int) - DATE '1970-01-01';
    IF m[4] IS NULL THEN
        IF m[9] IS NOT NULL THEN
            hh := m[10]::int;
            mi := m[11]::int;
        END IF;
    ELSE
        hh := m[4]::int;
        mi := m[5]::int;
        IF m[6] IS NOT NULL THEN
            ss := m[6]::int;
        END IF;
        IF m[7] IS NOT NULL THEN
            frac := ('0.' || m[7])::numeric;
        END IF;
        IF m[9] IS NOT NULL THEN
            off := (m[10]::int * 60 + m[11]::int) * 60;
            IF m[9] = '-' THEN
                off := -off;
            END IF;
        END IF;
    END IF;
    IF hh > 23 OR mi > 59 OR ss > 59 OR abs(off) >= 86400 THEN
        RETURN NULL;
    END IF;
    RETURN (days::numeric * 86400 + hh * 3600 + mi * 60 + ss + frac - off)::double precision;
EXCEPTION WHEN OTHERS THEN
    RETURN NULL;
END
$fn$
"""

# datetime.fromtimestamp(x, UTC): x rounded to microseconds half-to-even (rint) after modf,
# then the year must be 1..9999.
_PG_NUMBER_INSTANT = r"""
CREATE OR REPLACE FUNCTION itinera_number_instant(value double precision)
RETURNS double precision
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
AS $fn$
DECLARE
    whole double precision;
    micros double precision;
BEGIN
    IF NOT (value BETWEEN -1e12::double precision AND 1e12::double precision) THEN
        RETURN NULL;
    END IF;
    whole := trunc(value);
    micros := round((value - whole) * 1000000::double precision);
    IF micros >= 1000000 THEN
        micros := micros - 1000000;
        whole := whole + 1;
    ELSIF micros < 0 THEN
        micros := micros + 1000000;
        whole := whole - 1;
    END IF;
    IF whole < -62135596800 OR whole > 253402300799 THEN
        RETURN NULL;
    END IF;
    RETURN (whole::numeric + micros::numeric / 1000000)::double precision;
END
$fn$
"""

_PG_JSON_INSTANT = r"""
CREATE OR REPLACE FUNCTION itinera_json_instant(value jsonb) RETURNS double precision
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL UNSAFE
SET search_path FROM CURRENT
AS $fn$
BEGIN
    CASE jsonb_typeof(value)
        WHEN 'string' THEN
            RETURN itinera_instant(value #>> '{}');
        WHEN 'number' THEN
            IF abs(value::numeric) > 1e12 THEN
                RETURN NULL;
            END IF;
            RETURN itinera_number_instant(value::double precision);
        ELSE
            RETURN NULL;
    END CASE;
END
$fn$
"""


def install_postgres_functions(connection: sa.Connection) -> None:
    """Create (or replace) ``itinera_instant(text)``, ``itinera_number_instant(double
    precision)`` and ``itinera_json_instant(jsonb)`` in the current schema (idempotent).

    Installers running at once (several stores starting on one database) take turns: two
    concurrent CREATE OR REPLACE of one function can fail with "tuple concurrently updated".
    """
    connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7146873921)")
    for statement in (_PG_INSTANT, _PG_NUMBER_INSTANT, _PG_JSON_INSTANT):
        connection.exec_driver_sql(statement)
