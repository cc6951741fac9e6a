"""The tree walk: a condition tree to one set-wise query of the accounts for which it holds.

Every structural node (``people``, ``performed``, ``buying_group``, ``in_segment``) is a fact
about an account, whatever scope it sits in (as in the reference: ``performed`` inside
``people.match`` counts the account's events). Each becomes one pass over its table for all
accounts, tested against the account of the rows being filtered (the accounts table at the
top; a person's, an event's or a group's account in a nested match): ``account IN (the
accounts it holds for)`` where the database reads that list once (``_Compiler.count``), else
its grouped counts ``(account, n)`` LEFT JOINed on the account. So the database reads each
table once for the whole query, through the indexes it has (``events(type, at)``, say), never
once per account: a correlated subquery per account was quadratic on real data (issue 11).
``performed`` reaches an account's events through their account, or through their person (an
event of a person of another account, or of none), as a ``UNION ALL`` of the two that counts
no event twice.

``_Compiler.run`` follows the tree's structure, ``value`` resolves a path to a typed value in
the current scope, and ``compare`` turns an operator into tests of that value. Under ``not``
and ``any`` every test is made two-valued, so that NULL never turns ``not`` around; in a
conjunct of a WHERE, NULL already means false, and the bare test plans better.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.selectable import FromClause, NamedFromClause

from itinera.conditions.sql._dialects import DIALECTS, Dialect
from itinera.conditions.sql._expr import Bool, Expr, all_of, any_of, definite
from itinera.conditions.sql._values import (
    EPOCH,
    Bound,
    Column,
    InstantColumn,
    Missing,
    Value,
    json_value,
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

__all__ = ["Tables", "select_accounts"]


@dataclass(frozen=True)
class Tables:
    """The tables a condition reads. The store defines and owns them; the compiler knows the
    names of the columns it reads (``id``, ``account``, ``attributes``, ``type``, ``at``...)."""

    accounts: sa.Table
    people: sa.Table
    events: sa.Table
    buying_groups: sa.Table
    segment_members: sa.Table


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _ascii_lower(text: str) -> str:
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in text)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass
class _Rows:
    """The rows a (sub)query filters and how they reach their account: ``account_id``, the
    joins the conditions on them need (grouped counts, the account's own row), in order."""

    account_id: Expr
    account: FromClause | None = None  # the account's row, once a condition reads it
    joins: list[tuple[FromClause, Bool]] = field(default_factory=list)

    def joined(self, base: FromClause) -> FromClause:
        for table, on in self.joins:
            base = base.outerjoin(table, on)
        return base


@dataclass(frozen=True)
class _Scope:
    """What the paths of a subtree can read besides the account (as in the reference)."""

    rows: _Rows
    person: NamedFromClause | None = None
    event: NamedFromClause | None = None
    group: NamedFromClause | None = None
    # A conjunct of its WHERE (not under ``not`` or ``any``): NULL may stand for false there,
    # and PostgreSQL turns an ``IN (subquery)`` there into a semi-join.
    positive: bool = True


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
    def __init__(self, now: datetime, dialect: Dialect, tables: Tables) -> None:
        self.now = micros(_utc(now) - EPOCH)
        self.d = dialect
        self.t = tables

    # structure
    def run(self, tree: Condition, scope: _Scope) -> Bool:
        if isinstance(tree, All):
            return all_of(*(self.run(item, scope) for item in tree.items))
        inner = replace(scope, positive=False) if scope.positive else scope
        if isinstance(tree, AnyOf):
            return any_of(*(self.run(item, inner) for item in tree.items))
        if isinstance(tree, Not):
            return sa.not_(self.run(tree.item, inner))
        if isinstance(tree, Compare):
            test = self.compare(self.value(tree.path, scope), tree.op, tree.value)
            return test if scope.positive else definite(test)
        if isinstance(tree, InSegment):
            # (segment, account) is the key: at most one row per account.
            member = self.t.segment_members.alias()
            scope.rows.joins.append((member, sa.and_(member.c.account == scope.rows.account_id,
                                                     member.c.segment == tree.segment)))
            return member.c.account.is_not(None)
        if isinstance(tree, PeopleCount):
            person = self.t.people.alias()
            rows = _Rows(person.c.account)
            match = self.run(tree.match, _Scope(rows, person=person))
            return self.count(scope, tree.count, sa.select(person.c.account.label("account"))
                              .select_from(rows.joined(person)).where(match).subquery())
        if isinstance(tree, Performed):
            return self.count(scope, tree.count, self.performed(tree))
        if isinstance(tree, BuyingGroupMatch):
            group = self.t.buying_groups.alias()
            rows = _Rows(group.c.account)
            match = self.run(tree.match, _Scope(rows, group=group))
            return self.count(scope, Count("gte", 1), sa.select(group.c.account.label("account"))
                              .select_from(rows.joined(group))
                              .where(group.c.solution == tree.solution, match).subquery())
        raise TypeError(f"not a condition: {tree!r}")

    def count(self, scope: _Scope, count: Count, rows: FromClause) -> Bool:
        """``count`` holds of how many of ``rows`` (an ``account`` column) are the scope's
        account's. One pass over the rows, set-wise: SQLite tests the account against the
        accounts the rows make true (``IN``, or ``NOT IN`` when no row at all makes it true),
        which it reads once into an index. PostgreSQL does the same as a semi-join where it
        can (a conjunct, which 0 rows do not satisfy); elsewhere it would test every account
        against that list in turn, once it outgrows ``work_mem``, so there the grouped counts
        are LEFT JOINed on the account. Rows of no account (NULL) need no filter (which would
        tempt SQLite to read them through the index on the account, ``account > NULL``):
        their group joins nothing, and ``definite`` reads ``x IN (…, NULL)`` as false."""
        if count.op not in _COUNT_OPS:
            raise ValueError(f"unknown count operator {count.op!r}")
        holds = _COUNT_OPS[count.op]
        value = sa.literal(count.value, sa.Integer)
        account = scope.rows.account_id
        n = count.value
        zero = {"eq": n == 0, "ne": n != 0, "gt": n < 0, "gte": n <= 0, "lt": n > 0,
                "lte": n >= 0}[count.op]  # whether an account with no rows passes
        if self.d.name == "postgresql" and (zero or not scope.positive):
            grouped = (sa.select(rows.c.account, sa.func.count().label("n"))
                       .group_by(rows.c.account).subquery())
            scope.rows.joins.append((grouped, grouped.c.account == account))
            return holds(sa.func.coalesce(grouped.c.n, 0), value)

        def accounts(test: Callable[[Expr], Bool] | None) -> sa.Select[Any]:
            """The accounts with rows whose number passes ``test`` (None: any number)."""
            select = sa.select(rows.c.account)
            return select if test is None else select.group_by(rows.c.account).having(
                test(sa.func.count()))

        if zero:  # the accounts that fail are those with rows whose number fails
            fails = (None if (count.op, count.value) in (("eq", 0), ("lt", 1), ("lte", 0))
                     else lambda n: sa.not_(holds(n, value)))
            return sa.not_(definite(account.in_(accounts(fails))))
        passes = (None if (count.op, count.value) in (("gte", 1), ("gt", 0), ("ne", 0))
                  else lambda n: holds(n, value))
        found = account.in_(accounts(passes))
        return found if scope.positive else definite(found)

    def performed(self, tree: Performed) -> FromClause:
        """The events ``tree`` counts, one row each with the account it counts for: those the
        account sent, and those of its people it did not (their account is another or none)."""
        own = self.t.events.alias()
        rows = _Rows(own.c.account)
        where = self.event_filter(tree, own, rows)
        by_account = (sa.select(own.c.account.label("account"))
                      .select_from(rows.joined(own)).where(*where))
        event, person = self.t.events.alias(), self.t.people.alias()
        rows = _Rows(person.c.account)
        where = [sa.or_(event.c.account.is_(None), event.c.account != person.c.account),
                 *self.event_filter(tree, event, rows)]
        sent = event.join(person, person.c.id == event.c.person)
        by_person = (sa.select(person.c.account.label("account"))
                     .select_from(rows.joined(sent)).where(*where))
        return sa.union_all(by_account, by_person).subquery()

    def event_filter(self, tree: Performed, event: NamedFromClause, rows: _Rows) -> list[Bool]:
        where: list[Bool] = [event.c.type == tree.event]
        if tree.within_last is not None:
            window = InstantColumn(self.d, event.c.at)
            where.append(window.instant_in(Bound(self.now - micros(tree.within_last), False),
                                           Bound(self.now, True)))
        if tree.where is not None:
            where.append(self.run(tree.where, _Scope(rows, event=event)))
        return where

    # values
    def account_row(self, rows: _Rows) -> FromClause:
        """The row of the account ``rows`` are about, joined on first use."""
        if rows.account is None:
            rows.account = self.t.accounts.alias()
            rows.joins.append((rows.account, rows.account.c.id == rows.account_id))
        return rows.account

    def value(self, path: tuple[str, ...], scope: _Scope) -> Value:
        head, rest = path[0], path[1:]
        if head == "properties":
            if scope.event is None:
                return Missing(self.d)
            return json_value(self.d, scope.event.c.properties, rest) if rest else Value(self.d)
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
            table: FromClause = self.account_row(scope.rows)
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
        return json_value(self.d, table.c.attributes, rest[1:]) if len(rest) > 1 else Value(self.d)

    def column(self, kind: str, column: Expr) -> Value:
        if kind in ("string", "number", "bool"):
            return Column(self.d, column, kind)
        if kind == "instant":
            return InstantColumn(self.d, column)
        return json_value(self.d, column, ())  # account.playbooks

    # comparisons
    def same(self, value: Value, other: Any) -> Bool:
        """``value`` equals ``other`` (a scalar) within one JSON type. The value is tested
        before its type: most rows fail there, and SQLite then reads no type."""
        if isinstance(other, bool):
            return value.is_bool(other)
        if _is_number(other) and math.isnan(other):
            return sa.false()  # NaN equals nothing (PostgreSQL's numeric NaN equals itself)
        if _is_number(other):
            return all_of(value.number() == self.d.number(other), value.of_type("number"))
        if isinstance(other, str):
            return all_of(value.text() == self.d.string(other), value.of_type("string"))
        return sa.false()

    def one_of(self, value: Value, items: Any) -> Bool:
        """``value`` equals one of ``items``: the strings in one ``IN`` list (its type and
        value read once, not once per string), the others one by one."""
        strings = list(dict.fromkeys(item for item in items if isinstance(item, str)))
        tests = [self.same(value, item) for item in items if not isinstance(item, str)]
        if len(strings) > 1:
            tests.append(all_of(value.text().in_([self.d.string(item) for item in strings]),
                                value.of_type("string")))
        elif strings:
            tests.append(self.same(value, strings[0]))
        return any_of(*tests)

    def compare(self, value: Value, op: str, operand: Any) -> Bool:
        d = self.d
        if op == "exists":
            return sa.not_(value.missing()) if operand else value.missing()
        if op == "ne":
            return sa.or_(value.missing(), sa.not_(definite(self.same(value, operand))))
        if op == "eq":
            return self.same(value, operand)
        if op == "in":
            return self.one_of(value, operand)
        if op == "nin":
            return all_of(sa.not_(value.missing()),
                          sa.not_(definite(self.one_of(value, operand))))
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
            return any_of(all_of(self.substring(value.text(), operand), value.of_type("string")),
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


def select_accounts(tree: Condition, now: datetime, dialect: str,
                    tables: Tables) -> sa.Select[tuple[str]]:
    """``SELECT accounts.id FROM accounts … WHERE …``: exactly the accounts for which
    ``evaluate(tree, facts, now)`` is true. Callers may add columns and conditions on
    ``tables.accounts`` (the ids to consider, a segment's name to insert...).

    ``now`` (naive means UTC) is bound as a parameter; ``dialect`` is the SQLAlchemy dialect
    name, ``sqlite`` or ``postgresql``. Date operators need the functions that
    ``install_sqlite_functions``/``install_postgres_functions`` install.
    """
    compiler = DIALECTS.get("postgresql" if dialect == "postgres" else dialect)
    if compiler is None:
        raise ValueError(f"unsupported dialect {dialect!r} (sqlite or postgresql)")
    accounts = tables.accounts
    rows = _Rows(accounts.c.id, account=accounts)
    where = _Compiler(now, compiler, tables).run(tree, _Scope(rows))
    return sa.select(accounts.c.id).select_from(rows.joined(accounts)).where(where)
