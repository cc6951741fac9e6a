"""The tree walk: a condition tree to one boolean expression over ``accounts``.

``_Compiler.run`` follows the tree's structure (``people``, ``performed``, ``buying_group`` and
``in_segment`` become correlated subqueries on ``accounts.id``), ``value`` resolves a path to a
typed value in the current scope, and ``compare`` turns an operator into tests of that value.
Every leaf is made two-valued, so NULL never leaks out of it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import FromClause, NamedFromClause

from itinera.conditions.sql._dialects import DIALECTS, Dialect
from itinera.conditions.sql._expr import Bool, Expr, all_of, any_of, definite, exists, scalar
from itinera.conditions.sql._values import (
    EPOCH,
    Bound,
    Column,
    InstantColumn,
    Missing,
    Value,
    micros,
)
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

__all__ = ["compile_condition"]


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


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
    def __init__(self, now: datetime, dialect: Dialect) -> None:
        self.now = micros(_utc(now) - EPOCH)
        self.d = dialect

    # structure
    def run(self, tree: Condition, scope: _Scope) -> Bool:
        if isinstance(tree, All):
            return all_of(*(self.run(item, scope) for item in tree.items))
        if isinstance(tree, AnyOf):
            return any_of(*(self.run(item, scope) for item in tree.items))
        if isinstance(tree, Not):
            return sa.not_(self.run(tree.item, scope))
        if isinstance(tree, Compare):
            return definite(self.compare(self.value(tree.path, scope), tree.op, tree.value))
        if isinstance(tree, InSegment):
            member = segment_members.alias()
            return exists(member, member.c.segment == tree.segment,
                          member.c.account == accounts.c.id)
        if isinstance(tree, PeopleCount):
            person = people.alias()
            return self.count(person, [person.c.account == accounts.c.id,
                                       self.run(tree.match, _Scope(person=person))], tree.count)
        if isinstance(tree, Performed):
            return self.performed(tree)
        if isinstance(tree, BuyingGroupMatch):
            group = buying_groups.alias()
            return exists(group, group.c.account == accounts.c.id,
                          group.c.solution == tree.solution,
                          self.run(tree.match, _Scope(group=group)))
        raise TypeError(f"not a condition: {tree!r}")

    def count(self, table: FromClause, where: list[Bool], count: Count) -> Bool:
        if count.op not in _COUNT_OPS:
            raise ValueError(f"unknown count operator {count.op!r}")
        if (count.op, count.value) in (("gte", 1), ("gt", 0), ("ne", 0)):
            return exists(table, *where)
        if (count.op, count.value) in (("eq", 0), ("lt", 1), ("lte", 0)):
            return sa.not_(exists(table, *where))
        n = scalar(table, sa.func.count(), *where)
        return _COUNT_OPS[count.op](n, sa.literal(count.value, sa.Integer))

    def performed(self, tree: Performed) -> Bool:
        event = events.alias()
        person = people.alias()
        of_a_person = exists(person, person.c.id == event.c.person,
                             person.c.account == accounts.c.id)
        where: list[Bool] = [event.c.type == tree.event,
                             sa.or_(event.c.account == accounts.c.id, of_a_person)]
        if tree.within_last is not None:
            window = InstantColumn(self.d, event.c.at)
            where.append(window.instant_in(Bound(self.now - micros(tree.within_last), False),
                                           Bound(self.now, True)))
        if tree.where is not None:
            where.append(self.run(tree.where, _Scope(event=event)))
        return self.count(event, where, tree.count)

    # values
    def value(self, path: tuple[str, ...], scope: _Scope) -> Value:
        head, rest = path[0], path[1:]
        if head == "properties":
            if scope.event is None:
                return Missing(self.d)
            return self.d.json(scope.event.c.properties, rest) if rest else Value(self.d)
        if head == "group":
            if scope.group is None:
                return Missing(self.d)
            if not rest:
                return Value(self.d)  # the mapping of the three fields
            kind = _GROUP_COLUMNS.get(rest[0])
            if kind is None or len(rest) > 1:
                return Missing(self.d)
            return self.column(kind, scope.group.c[rest[0]])
        if head == "account":
            table: FromClause = accounts
            builtins = _ACCOUNT_COLUMNS
        elif head == "person":
            if scope.person is None:
                return Missing(self.d)
            table, builtins = scope.person, _PERSON_COLUMNS
        else:
            raise ValueError(f"unknown scope {head!r} in path {path!r}")
        if rest[0] == "builtin":
            kind = builtins.get(rest[1])
            if kind is None:
                raise ValueError(f"unknown built-in {rest[1]!r} in path {path!r}")
            return self.column(kind, table.c[rest[1]])
        return self.d.json(table.c.attributes, rest[1:]) if len(rest) > 1 else Value(self.d)

    def column(self, kind: str, column: Expr) -> Value:
        if kind in ("string", "number", "bool"):
            return Column(self.d, column, kind)
        if kind == "instant":
            return InstantColumn(self.d, column)
        return self.d.json(column, ())  # account.playbooks

    # comparisons
    def same(self, value: Value, other: Any) -> Bool:
        """``value`` equals ``other`` (a scalar) within one JSON type."""
        if isinstance(other, bool):
            return value.is_bool(other)
        if _is_number(other) and math.isnan(other):
            return sa.false()  # NaN equals nothing (PostgreSQL's numeric NaN equals itself)
        if _is_number(other):
            return all_of(value.of_type("number"), value.number() == self.d.number(other))
        if isinstance(other, str):
            return all_of(value.of_type("string"), value.text() == self.d.string(other))
        return sa.false()

    def compare(self, value: Value, op: str, operand: Any) -> Bool:
        d = self.d
        if op == "exists":
            return sa.not_(value.missing()) if operand else value.missing()
        if op == "ne":
            return sa.or_(value.missing(), sa.not_(definite(self.same(value, operand))))
        if op == "eq":
            return self.same(value, operand)
        if op == "in":
            return any_of(*(self.same(value, item) for item in operand))
        if op == "nin":
            return all_of(sa.not_(value.missing()),
                          sa.not_(definite(any_of(*(self.same(value, item) for item in operand)))))
        if op in _COUNT_OPS:  # gt, gte, lt, lte
            compare = _COUNT_OPS[op]
            if _is_number(operand) and math.isnan(operand):
                return sa.false()  # nothing is ordered with NaN
            if _is_number(operand):
                return all_of(value.of_type("number"), compare(value.number(), d.number(operand)))
            if isinstance(operand, str):
                return all_of(value.of_type("string"),
                              compare(d.ordered(value.text()), d.string(operand)))
            return sa.false()
        if op == "contains":
            member = value.any_element(lambda item: self.same(item, operand))
            if not isinstance(operand, str):
                return member
            return any_of(all_of(value.of_type("string"), self.substring(value.text(), operand)),
                          member)
        if op == "contains_ci":
            folded = _ascii_lower(operand)
            return any_of(
                all_of(value.of_type("string"), self.substring(d.fold(value.text()), folded)),
                value.any_element(lambda item: all_of(item.of_type("string"),
                                                      d.fold(item.text()) == d.string(folded))),
            )
        if op == "eq_ci":
            return all_of(value.of_type("string"),
                          d.fold(value.text()) == d.string(_ascii_lower(operand)))
        if op in ("starts_with", "ends_with"):
            if not operand:
                return value.of_type("string")
            test = d.starts_with if op == "starts_with" else d.ends_with
            return all_of(value.of_type("string"), test(value.text(), operand))
        if op in ("within_next", "within_last", "older_than"):
            span = micros(operand)
            if op == "within_next":  # now < value <= now + d
                return value.instant_in(Bound(self.now, False), Bound(self.now + span, True))
            if op == "within_last":  # now - d < value <= now
                return value.instant_in(Bound(self.now - span, False), Bound(self.now, True))
            return value.instant_in(None, Bound(self.now - span, True))  # value <= now - d
        if op in ("before", "after"):
            at = micros(_utc(operand) - EPOCH)
            if op == "before":
                return value.instant_in(None, Bound(at, False))
            return value.instant_in(Bound(at, False), None)
        raise ValueError(f"unknown operator {op!r}")

    def substring(self, text: Expr, part: str) -> Bool:
        return sa.true() if not part else self.d.contains(text, part)


def compile_condition(tree: Condition, now: datetime, dialect: str) -> ColumnElement[bool]:
    """``tree`` as a boolean SQL expression over ``accounts`` (correlated subqueries for
    people, events, buying groups and segments), true exactly where ``evaluate`` is.

    ``now`` (naive means UTC) is bound as a parameter; ``dialect`` is the SQLAlchemy dialect
    name, ``sqlite`` or ``postgresql``. Date operators need the functions that
    ``install_sqlite_functions``/``install_postgres_functions`` install.
    """
    compiler = DIALECTS.get("postgresql" if dialect == "postgres" else dialect)
    if compiler is None:
        raise ValueError(f"unsupported dialect {dialect!r} (sqlite or postgresql)")
    return _Compiler(now, compiler).run(tree, _Scope())


