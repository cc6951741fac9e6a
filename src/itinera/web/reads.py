"""What the UI pages read that no one else does: a journey's latest enrollments with their
accounts' names, and how many tasks are open and done. Accounts, people, events, effects,
templates and CSMs are read through ``itinera.storage.views``, which the API shares.

Every function takes a connection and returns plain, JSON-ready records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from itinera.domain.model import Account
from itinera.storage import queries
from itinera.storage import schema as t
from itinera.storage.rows import account_from_row
from itinera.timeutil import as_utc, format_instant

__all__ = ["PAGE_SIZE", "Page", "account_page", "recent_enrollments", "task_counts", "task_page"]

PAGE_SIZE = 50


@dataclass(frozen=True)
class Page:
    """Which rows of how many a list page shows (``page`` counts from 1)."""

    page: int
    total: int
    size: int = PAGE_SIZE

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    @property
    def first(self) -> int:
        return min(self.offset + 1, self.total)

    @property
    def last(self) -> int:
        return min(self.offset + self.size, self.total)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))


def _page(total: int, page: int) -> Page:
    return Page(min(max(page, 1), max(1, -(-total // PAGE_SIZE))), total)


def account_page(conn: sa.Connection, text: str, page: int) -> tuple[list[Account], Page]:
    """One page of the accounts ``views.find_accounts`` finds for ``text``, and their total."""
    c = t.accounts.c
    where = (sa.or_(c.id.istartswith(text, autoescape=True),
                    c.attributes["name"].as_string().icontains(text, autoescape=True))
             if text else sa.true())
    total = conn.execute(sa.select(sa.func.count()).select_from(t.accounts).where(where)).scalar_one()
    at = _page(int(total), page)
    rows = conn.execute(sa.select(t.accounts).where(where).order_by(c.seq)
                        .offset(at.offset).limit(at.size))
    return [account_from_row(r) for r in rows], at


def task_page(conn: sa.Connection, status: str | None, assignee: str | None,
              page: int) -> tuple[list[dict[str, Any]], Page]:
    """One page of the tasks ``queries.tasks`` lists for these filters, and their total."""
    c = t.effects.c
    where = [c.channel == "task"]
    if assignee:
        where.append(c.payload["assignee"].as_string() == assignee)
    if status == "open":
        where.append(c.status != "completed")
    elif status:
        where.append(c.status == status)
    total = conn.execute(sa.select(sa.func.count()).select_from(t.effects).where(*where)).scalar_one()
    at = _page(int(total), page)
    before = conn.execute(sa.select(c.id).where(*where).order_by(c.id)
                          .offset(at.offset - 1).limit(1)).scalar() if at.offset else None
    return queries.tasks(conn, status=status, assignee=assignee, limit=at.size, after=before), at


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
