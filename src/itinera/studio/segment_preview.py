"""How many accounts a segment's condition matches now, and a sample of them, while it is
edited: one set-wise query for the count and one for the sample (``conditions.sql``, the
compiler segments are filled with), each under a time limit, so a preview stays quick on a
million accounts and never holds a connection for long.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from itinera.conditions import Condition, Scope, parse_condition
from itinera.conditions.sql import select_accounts
from itinera.errors import Problem
from itinera.storage import queries
from itinera.storage import schema as t
from itinera.storage.sql import CONDITION_TABLES
from itinera.timeutil import format_instant

__all__ = ["MAX_SAMPLE", "SAMPLE", "TIME_LIMIT", "PreviewTooSlow", "SegmentPreview",
           "parse_segment_condition", "preview"]

SAMPLE = 20  # accounts shown by default
MAX_SAMPLE = 50
TIME_LIMIT = 10.0  # seconds each query may take before it is cancelled


class PreviewTooSlow(Exception):
    """The database did not answer within :data:`TIME_LIMIT`."""


@dataclass(frozen=True)
class SegmentPreview:
    count: int
    sample: list[dict[str, Any]]  # [{id, name}], by account id
    at: datetime

    def as_json(self) -> dict[str, Any]:
        return {"count": self.count, "sample": self.sample, "at": format_instant(self.at)}


def parse_segment_condition(connection: sa.Connection, raw: Any,
                            place: str = "condition") -> tuple[Condition | None, list[Problem]]:
    """The condition tree of ``raw`` (a segment's ``when``), with the problems ``itinera
    validate`` would name (``in_segment`` checked against the stored segments)."""
    problems: list[Problem] = []
    segments = {s["id"] for s in queries.workspace_data(connection).get("segments", [])
                if isinstance(s, dict) and "id" in s}
    if not isinstance(raw, dict):
        return None, [Problem(place, "a segment's condition is a mapping, e.g. "
                                     "{account.size: Large}")]
    tree = parse_condition(raw, place, Scope.ACCOUNT, problems, segments)
    return (None if problems else tree), problems


@contextmanager
def _time_limit(connection: sa.Connection, seconds: float) -> Iterator[None]:
    """Cancel the statements run inside after ``seconds``: PostgreSQL's statement_timeout (in
    this transaction only), SQLite's progress handler."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SET LOCAL statement_timeout = {max(1, int(seconds * 1000))}")
        try:
            yield
        except sa.exc.OperationalError as error:
            if "statement timeout" in str(error):
                raise PreviewTooSlow() from None
            raise
        return
    raw: Any = connection.connection.dbapi_connection
    deadline = time.monotonic() + seconds
    raw.set_progress_handler(lambda: int(time.monotonic() > deadline), 1_000)
    try:
        yield
    except sa.exc.OperationalError as error:
        if "interrupted" in str(error):
            raise PreviewTooSlow() from None
        raise
    finally:
        raw.set_progress_handler(None, 0)


def preview(connection: sa.Connection, condition: Condition, now: datetime,
            limit: int = SAMPLE, time_limit: float = TIME_LIMIT) -> SegmentPreview:
    """The accounts ``condition`` matches at ``now``: their count and the first ``limit`` by
    id (the primary key's order: the database stops after ``limit``)."""
    dialect = connection.dialect.name
    matching = select_accounts(condition, now, dialect, CONDITION_TABLES)
    a = t.accounts
    name = a.c.attributes["name"].as_string()
    with _time_limit(connection, time_limit):  # the connection's transaction (autobegun)
        count = connection.execute(
            sa.select(sa.func.count()).select_from(matching.subquery())).scalar_one()
        rows = list(connection.execute(
            matching.add_columns(name.label("name")).order_by(a.c.id).limit(limit))) \
            if limit else []
    sample = [{"id": r.id, "name": r.name} for r in rows]
    return SegmentPreview(int(count), sample, now)

