"""Bounces and complaints received (``email_bounces``) and the suppression list
(``suppressions``): addresses no email is sent to.

Addresses are kept lower-cased: the dispatcher, the API and the bounce receivers compare them
so. A hard bounce or a complaint suppresses the address (the first reason stays; a later one
does not overwrite it); soft bounces are only counted.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from itinera.storage import schema as t
from itinera.timeutil import as_utc, format_instant

__all__ = ["SUPPRESSING", "bounce_counts", "lift", "list_suppressions", "record_bounce",
           "suppressed", "suppression"]

# The kinds of bounce that suppress an address, and the reason they give it.
SUPPRESSING = {"hard": "hard_bounce", "complaint": "complaint"}


def _norm(address: str) -> str:
    return address.strip().strip("<>").lower()


def record_bounce(conn: sa.Connection, address: str, kind: str, *, source: str, at: datetime,
                  status: str | None = None, detail: str | None = None,
                  effect: int | None = None) -> bool:
    """Keep a bounce or complaint; a hard bounce or a complaint suppresses the address.
    True when the address is newly suppressed."""
    address = _norm(address)
    conn.execute(t.email_bounces.insert().values(
        address=address, kind=kind, status=status, detail=(detail or "")[:2000] or None,
        source=source, effect=effect, at=at))
    reason = SUPPRESSING.get(kind)
    if reason is None:
        return False
    if conn.execute(sa.select(t.suppressions.c.address)
                    .where(t.suppressions.c.address == address)).first():
        return False
    conn.execute(t.suppressions.insert().values(
        address=address, reason=reason, source=source, at=at,
        detail=(f"{status} {detail or ''}".strip() if status else detail or "")[:2000] or None))
    return True


def suppressed(conn: sa.Connection, addresses: Iterable[str]) -> set[str]:
    """Those of ``addresses`` (lower-cased) that are suppressed."""
    wanted = sorted({_norm(a) for a in addresses if a})
    if not wanted:
        return set()
    return set(conn.execute(sa.select(t.suppressions.c.address)
                            .where(t.suppressions.c.address.in_(wanted))).scalars())


def _json(row: Any, counts: dict[str, dict[str, int]]) -> dict[str, Any]:
    return {"address": row.address, "reason": row.reason, "source": row.source,
            "detail": row.detail, "at": format_instant(as_utc(row.at)),
            "bounces": counts.get(row.address, {})}


def suppression(conn: sa.Connection, address: str) -> dict[str, Any] | None:
    """One suppression as JSON, or None."""
    row = conn.execute(sa.select(t.suppressions)
                       .where(t.suppressions.c.address == _norm(address))).first()
    return None if row is None else _json(row, bounce_counts(conn, [row.address]))


def list_suppressions(conn: sa.Connection, *, q: str | None = None, limit: int = 100,
                      after: str | None = None) -> list[dict[str, Any]]:
    """Suppressions by address (``q``: a prefix), ``limit`` from the one after ``after``."""
    s = t.suppressions
    query = sa.select(s).order_by(s.c.address).limit(limit)
    if q:
        query = query.where(s.c.address.startswith(_norm(q), autoescape=True))
    if after is not None:
        query = query.where(s.c.address > after)
    rows = conn.execute(query).all()
    counts = bounce_counts(conn, [r.address for r in rows])
    return [_json(row, counts) for row in rows]


def bounce_counts(conn: sa.Connection, addresses: list[str]) -> dict[str, dict[str, int]]:
    """Per address: how many bounces of each kind were received."""
    if not addresses:
        return {}
    b = t.email_bounces
    found: dict[str, dict[str, int]] = {}
    for row in conn.execute(sa.select(b.c.address, b.c.kind, sa.func.count().label("n"))
                            .where(b.c.address.in_(sorted(set(addresses))))
                            .group_by(b.c.address, b.c.kind)):
        found.setdefault(row.address, {})[row.kind] = int(row.n)
    return found


def lift(conn: sa.Connection, address: str) -> dict[str, Any] | None:
    """Remove a suppression; what it was (None when the address was not suppressed)."""
    before = suppression(conn, address)
    if before is not None:
        conn.execute(t.suppressions.delete().where(t.suppressions.c.address == _norm(address)))
    return before
