"""What the UI pages read that no one else does: a journey's latest enrollments with their
accounts' names, and how many tasks are open and done. Accounts, people, events, effects,
templates and CSMs are read through ``itinera.storage.views``, which the API shares.

Every function takes a connection and returns plain, JSON-ready records.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from itinera.storage import schema as t
from itinera.timeutil import as_utc, format_instant

__all__ = ["recent_enrollments", "task_counts"]


def recent_enrollments(conn: sa.Connection, journey: str, limit: int = 12) -> list[dict[str, Any]]:
    """The journey's latest enrollments, newest first, with the account's name."""
    e, a = t.enrollments, t.accounts
    rows = conn.execute(sa.select(e.c.id, e.c.account, e.c.version, e.c.status, e.c.goal_achieved,
                                  e.c.enrolled_at, e.c.path, a.c.attributes)
                        .join(a, a.c.id == e.c.account, isouter=True)
                        .where(e.c.journey == journey).order_by(e.c.id.desc()).limit(limit))
    return [{"id": r.id, "account": r.account, "version": r.version, "status": r.status,
             "goal_achieved": r.goal_achieved, "enrolled_at": format_instant(as_utc(r.enrolled_at)),
             "at": (list(r.path) or [None])[-1],
             "name": (r.attributes or {}).get("name")} for r in rows]


def task_counts(conn: sa.Connection) -> dict[str, int]:
    """How many tasks are open (any status but completed) and completed."""
    c = t.effects.c
    rows = conn.execute(sa.select(c.status, sa.func.count())
                        .where(c.channel == "task", c.status != "skipped").group_by(c.status))
    counts = {"open": 0, "completed": 0}
    for status, n in rows:
        counts["completed" if status == "completed" else "open"] += int(n)
    return counts
