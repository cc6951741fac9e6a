"""The SQL of journey analytics: set-wise reads over the enrollments table.

Every function answers with one or two grouped queries, whatever the number of enrollments:
nothing here loops over enrollments in Python. The dialects differ in three things only, each
isolated in a helper below: how a JSON array or object is expanded into rows (``json_each`` on
SQLite, ``jsonb_array_elements_text`` / ``jsonb_each_text`` on PostgreSQL), how the UTC day of
an instant is written, and how the seconds between two instants are computed. SQLite stores
instants as naive UTC text (``2026-01-05 09:00:00.000000``), PostgreSQL as ``timestamptz``.

All reads concern one :class:`Cohort`: the enrollments of one journey, optionally of one
version and enrolled within a window of instants.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from itinera.storage import schema as t

__all__ = [
    "Cohort",
    "DayRow",
    "EndedRow",
    "SkipRow",
    "VariantRow",
    "daily_counts",
    "definitions",
    "ended_counts",
    "entered_counts",
    "median_seconds_to_goal",
    "outcome_counts",
    "skip_counts",
    "variant_counts",
    "waiting_counts",
]

_E = t.enrollments


@dataclass(frozen=True)
class Cohort:
    """The enrollments a report is about: of ``journey`` (and ``version``), enrolled at or
    after ``enrolled_from`` and before ``enrolled_before`` when those are given."""

    journey: str
    version: int | None = None
    enrolled_from: datetime | None = None
    enrolled_before: datetime | None = None

    def where(self) -> list[ColumnElement[bool]]:
        clauses: list[ColumnElement[bool]] = [_E.c.journey == self.journey]
        if self.version is not None:
            clauses.append(_E.c.version == self.version)
        if self.enrolled_from is not None:
            clauses.append(_E.c.enrolled_at >= self.enrolled_from)
        if self.enrolled_before is not None:
            clauses.append(_E.c.enrolled_at < self.enrolled_before)
        return clauses


@dataclass(frozen=True)
class EndedRow:
    """Ended enrollments whose last node entered was ``node`` (None: ended on enrolling, at
    no node), with the same ``status`` and goal flag."""

    node: str | None
    status: str
    goal_achieved: bool
    count: int


@dataclass(frozen=True)
class DayRow:
    """What happened on one UTC day (``YYYY-MM-DD``) to the cohort's enrollments."""

    day: str
    enrolled: int
    goal_reached: int
    completed: int
    exited: int
    unenrolled: int


@dataclass(frozen=True)
class VariantRow:
    """Enrollments that got ``variant`` of ``experiment``, and how many reached the goal."""

    experiment: str
    variant: str
    enrolled: int
    converted: int


# -- dialect helpers -----------------------------------------------------------------------
def _is_postgres(conn: sa.Connection) -> bool:
    return conn.dialect.name == "postgresql"


def _array_items(conn: sa.Connection, column: Any, name: str) -> Any:
    """A table of one text column ``value``: the elements of the JSON array ``column``, one row
    each (correlated with the enrollments row it is joined to)."""
    if _is_postgres(conn):
        return sa.func.jsonb_array_elements_text(column).table_valued("value", name=name)
    return sa.func.json_each(column).table_valued("value", name=name)


def _object_items(conn: sa.Connection, column: Any, name: str) -> Any:
    """A table of ``key`` and text ``value`` columns: the members of the JSON object ``column``.
    Expanding the object avoids JSON path syntax, whose quoting of keys differs by dialect."""
    if _is_postgres(conn):
        return sa.func.jsonb_each_text(column).table_valued("key", "value", name=name)
    return sa.func.json_each(column).table_valued("key", "value", name=name)


def _token_nodes(conn: sa.Connection) -> tuple[Any, Any]:
    """The running paths (``state.tokens``) of enrollments as rows, and their node column."""
    if _is_postgres(conn):
        tokens = sa.func.jsonb_array_elements(_E.c.state.op("->")("tokens")).table_valued(
            "value", name="token")
        return tokens, tokens.c.value.op("->>")("node")
    tokens = sa.func.json_each(_E.c.state, "$.tokens").table_valued("value", name="token")
    return tokens, sa.func.json_extract(tokens.c.value, "$.node")


def _last_node(conn: sa.Connection) -> Any:
    """The last element of the enrollment's path (None when the path is empty)."""
    if _is_postgres(conn):
        return _E.c.path.op("->>")(sa.literal(-1, sa.Integer))
    return sa.func.json_extract(_E.c.path, "$[#-1]")


def _day(conn: sa.Connection, column: Any) -> Any:
    """``YYYY-MM-DD`` of the instant ``column`` in UTC."""
    if _is_postgres(conn):
        return sa.func.to_char(sa.func.timezone("UTC", column), "YYYY-MM-DD")
    return sa.func.substr(column, 1, 10)


def _seconds_between(conn: sa.Connection, start: Any, end: Any) -> Any:
    if _is_postgres(conn):
        return sa.extract("epoch", end - start)
    return (sa.func.julianday(end) - sa.func.julianday(start)) * 86400.0


# -- reads ---------------------------------------------------------------------------------
def definitions(conn: sa.Connection, journey: str) -> dict[int, dict[str, Any]]:
    """The stored definition of each published version of ``journey``, by version."""
    rows = conn.execute(sa.select(t.journeys.c.version, t.journeys.c.definition)
                        .where(t.journeys.c.id == journey).order_by(t.journeys.c.version))
    return {int(r.version): dict(r.definition) for r in rows}


def entered_counts(conn: sa.Connection, cohort: Cohort) -> dict[str, int]:
    """Per node, the enrollments whose path entered it (once each, however often)."""
    items = _array_items(conn, _E.c.path, "visit")
    rows = conn.execute(
        sa.select(items.c.value.label("node"), sa.func.count(sa.distinct(_E.c.id)).label("n"))
        .select_from(_E).join(items, sa.true()).where(*cohort.where())
        .group_by(items.c.value))
    return {str(r.node): int(r.n) for r in rows}


@dataclass(frozen=True)
class SkipRow:
    """Actions of the cohort's enrollments at ``node`` recorded as skipped on ``channel`` for
    ``reason`` (``no_recipients``, ``no_assignee``, ``quiet_hours``, ``unsubscribed`` ...):
    ``count`` effects (one per person skipped, or one for an action that reached nobody)."""

    node: str
    channel: str
    reason: str
    count: int


def skip_counts(conn: sa.Connection, cohort: Cohort) -> list[SkipRow]:
    """The cohort's skipped effects by node, channel and reason. An effect belongs to the
    enrollment its key starts with (``<enrollment>:...``); the join on the journey and the
    account first keeps the key match to an account's few enrollments."""
    f = t.effects
    reason = f.c.payload["reason"].as_string()
    rows = conn.execute(
        sa.select(f.c.node, f.c.channel, reason.label("reason"), sa.func.count().label("n"))
        .select_from(f).join(_E, sa.and_(
            _E.c.journey == f.c.journey, _E.c.account == f.c.account,
            f.c.key.like(sa.cast(_E.c.id, sa.String).concat(":%"))))
        .where(*cohort.where(), f.c.status == "skipped")
        .group_by(f.c.node, f.c.channel, reason)
        .order_by(f.c.node, f.c.channel, reason))
    return [SkipRow(str(r.node), str(r.channel), str(r.reason), int(r.n)) for r in rows]


def waiting_counts(conn: sa.Connection, cohort: Cohort) -> dict[str, int]:
    """Per node, the active enrollments with a path there now (waiting, listening or at a
    merge)."""
    tokens, node = _token_nodes(conn)
    rows = conn.execute(
        sa.select(node.label("node"), sa.func.count(sa.distinct(_E.c.id)).label("n"))
        .select_from(_E).join(tokens, sa.true())
        .where(*cohort.where(), _E.c.status == "active").group_by(node))
    return {str(r.node): int(r.n) for r in rows}


def ended_counts(conn: sa.Connection, cohort: Cohort) -> list[EndedRow]:
    """Ended enrollments grouped by their last node, status and goal flag."""
    last = _last_node(conn).label("node")
    rows = conn.execute(
        sa.select(last, _E.c.status, _E.c.goal_achieved, sa.func.count().label("n"))
        .where(*cohort.where(), _E.c.status != "active")
        .group_by(last, _E.c.status, _E.c.goal_achieved))
    return [EndedRow(r.node, r.status, bool(r.goal_achieved), int(r.n)) for r in rows]


def outcome_counts(conn: sa.Connection, cohort: Cohort) -> dict[tuple[str, bool], int]:
    """Enrollments by (status, goal reached)."""
    rows = conn.execute(
        sa.select(_E.c.status, _E.c.goal_achieved, sa.func.count().label("n"))
        .where(*cohort.where()).group_by(_E.c.status, _E.c.goal_achieved))
    return {(r.status, bool(r.goal_achieved)): int(r.n) for r in rows}


def median_seconds_to_goal(conn: sa.Connection, cohort: Cohort) -> float | None:
    """The median time from enrolling to reaching the goal, in seconds, over the enrollments
    that reached it (None when none did). The middle one or two values are read with
    ORDER BY / LIMIT / OFFSET, which both dialects run the same way."""
    reached = [*cohort.where(), _E.c.goal_achieved.is_(True), _E.c.goal_at.is_not(None)]
    count = int(conn.execute(sa.select(sa.func.count()).select_from(_E).where(*reached))
                .scalar_one())
    if count == 0:
        return None
    seconds = _seconds_between(conn, _E.c.enrolled_at, _E.c.goal_at).label("seconds")
    middle = conn.execute(sa.select(seconds).where(*reached).order_by(seconds, _E.c.id)
                          .offset((count - 1) // 2).limit(2 - count % 2)).scalars().all()
    # SQLite's julianday carries ~10 µs of float error: round to the millisecond.
    return round(sum(float(s) for s in middle) / len(middle), 3)


def daily_counts(conn: sa.Connection, cohort: Cohort) -> list[DayRow]:
    """Per UTC day on which anything happened: enrollments, goals reached, and endings by
    status, in day order. Three grouped queries, merged by day."""
    where = cohort.where()
    days: dict[str, dict[str, int]] = {}

    def add(column: str, rows: Any) -> None:
        for r in rows:
            days.setdefault(str(r.day), {})[column] = int(r.n)

    enrolled = _day(conn, _E.c.enrolled_at).label("day")
    add("enrolled", conn.execute(sa.select(enrolled, sa.func.count().label("n"))
                                 .where(*where).group_by(enrolled)))
    goal = _day(conn, _E.c.goal_at).label("day")
    add("goal_reached", conn.execute(
        sa.select(goal, sa.func.count().label("n"))
        .where(*where, _E.c.goal_achieved.is_(True), _E.c.goal_at.is_not(None)).group_by(goal)))
    ended = _day(conn, _E.c.ended_at).label("day")
    for status in ("completed", "exited", "unenrolled"):
        add(status, conn.execute(
            sa.select(ended, sa.func.count().label("n"))
            .where(*where, _E.c.status == status, _E.c.ended_at.is_not(None)).group_by(ended)))
    return [DayRow(day, counts.get("enrolled", 0), counts.get("goal_reached", 0),
                   counts.get("completed", 0), counts.get("exited", 0),
                   counts.get("unenrolled", 0))
            for day, counts in sorted(days.items())]


def variant_counts(conn: sa.Connection, cohort: Cohort) -> list[VariantRow]:
    """Per experiment and variant, the enrollments that got it and those that reached the
    goal, by experiment and variant name."""
    items = _object_items(conn, _E.c.variants, "assigned")
    converted = sa.func.sum(sa.case((_E.c.goal_achieved.is_(True), 1), else_=0))
    rows = conn.execute(
        sa.select(items.c.key.label("experiment"), items.c.value.label("variant"),
                  sa.func.count().label("n"), converted.label("converted"))
        .select_from(_E).join(items, sa.true()).where(*cohort.where())
        .group_by(items.c.key, items.c.value).order_by(items.c.key, items.c.value))
    return [VariantRow(str(r.experiment), str(r.variant), int(r.n), int(r.converted or 0))
            for r in rows]
