"""Where a journey's active enrollments wait now, grouped by version and node, set-wise.

One grouped query over the enrollments of one journey (the journey prefix of
``ix_enrollments_journey_account``), their paths expanded from ``state.tokens`` (``json_each``
on SQLite, ``jsonb_array_elements`` on PostgreSQL) and each path's timer joined by its primary
key. The impact preview of a publish (``runtime.impact``) reads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from itinera.storage import schema as t
from itinera.timeutil import as_utc

__all__ = ["WaitingGroup", "waiting_groups"]

_E = t.enrollments


@dataclass
class WaitingGroup:
    """The paths of ``journey``'s active enrollments at one (version, node, state):
    ``enrollments`` counts each once, ``paths`` every path; ``shared``: enrollments with paths
    at other nodes too. ``entered_*``: when the paths entered the node (for paths that
    recorded it), ``due_*``: their timers. ``entered_by``: how many entered at or before the
    instant asked for this node (``waiting_groups``' ``entered_by``)."""

    version: int
    node: str
    state: str
    enrollments: int
    paths: int
    shared: int
    entered_first: datetime | None
    entered_last: datetime | None
    due_first: datetime | None
    due_last: datetime | None
    entered_by: int = 0


def _tokens(conn: sa.Connection) -> tuple[Any, Any, Any, Any, Any]:
    """The paths as rows: (table, node, state, since text, timer id)."""
    if conn.dialect.name == "postgresql":
        table = sa.func.jsonb_array_elements(_E.c.state.op("->")("tokens")).table_valued(
            "value", name="token")
        value = table.c.value

        def text(name: str) -> Any:
            return value.op("->>")(name)

        return (table, text("node"), text("state"), text("since"),
                sa.cast(text("timer"), sa.Integer))
    table = sa.func.json_each(_E.c.state, "$.tokens").table_valued("value", name="token")

    def field(name: str) -> Any:
        return sa.func.json_extract(table.c.value, f"$.{name}")

    return table, field("node"), field("state"), field("since"), field("timer")


def _count_paths(conn: sa.Connection) -> Any:
    if conn.dialect.name == "postgresql":
        return sa.func.jsonb_array_length(_E.c.state.op("->")("tokens"))
    return sa.func.json_array_length(_E.c.state, "$.tokens")


def _instant(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return as_utc(value)
    return as_utc(datetime.fromisoformat(str(value)))


def waiting_groups(conn: sa.Connection, journey: str,
                   entered_by: Mapping[str, datetime] | None = None) -> list[WaitingGroup]:
    """Every (version, node, state) where active enrollments of ``journey`` have paths now,
    by version then node. ``entered_by``: per node, an instant; each group counts its paths
    that entered the node at or before it (whose recomputed wait is then already over)."""
    tokens, node, state, since, timer = _tokens(conn)
    timers = t.timers
    # ISO texts of one form (``isoformat`` of UTC instants) compare as the instants do.
    thresholds = {n: as_utc(at).isoformat() for n, at in (entered_by or {}).items()}
    early: Any
    if thresholds:
        limit = sa.case(thresholds, value=node, else_=sa.null())
        early = sa.func.sum(sa.case((since <= limit, 1), else_=0))
    else:
        early = sa.literal(0)
    shared = sa.func.count(sa.distinct(sa.case((_count_paths(conn) > 1, _E.c.id))))
    rows = conn.execute(
        sa.select(_E.c.version, node.label("node"), state.label("state"),
                  sa.func.count(sa.distinct(_E.c.id)).label("enrollments"),
                  sa.func.count().label("paths"), shared.label("shared"),
                  sa.func.min(since).label("entered_first"),
                  sa.func.max(since).label("entered_last"),
                  sa.func.min(timers.c.due_at).label("due_first"),
                  sa.func.max(timers.c.due_at).label("due_last"),
                  early.label("early"))
        .select_from(_E).join(tokens, sa.true())
        .outerjoin(timers, timers.c.id == timer)
        .where(_E.c.journey == journey, _E.c.status == "active")
        .group_by(_E.c.version, node, state)
        .order_by(_E.c.version, node, state))
    return [WaitingGroup(int(r.version), str(r.node), str(r.state), int(r.enrollments),
                         int(r.paths), int(r.shared), _instant(r.entered_first),
                         _instant(r.entered_last), _instant(r.due_first), _instant(r.due_last),
                         int(r.early or 0))
            for r in rows]
