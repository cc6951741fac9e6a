"""Brute-force protection of sign-in: failed attempts counted per name and per client address,
in the store (so every process of a deployment sees them), with a growing back-off.

The first :data:`FREE_BY_NAME` failures for a name (:data:`FREE_BY_ADDRESS` from one address)
cost nothing; each one after locks that name (address) for twice as long as the previous
lock, from :data:`FIRST_LOCK` up to :data:`LONGEST_LOCK`. While either is locked no password
is even checked. A name is counted as typed, whether or not such a user exists, so the answer
never tells whether a name exists. A successful sign-in clears the name's count (not the
address's: one good account must not reset an address that guesses others'); failures older
than :data:`FORGET_AFTER` are forgotten.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from itinera.storage import schema as t

__all__ = ["FIRST_LOCK", "FORGET_AFTER", "FREE_BY_ADDRESS", "FREE_BY_NAME", "LONGEST_LOCK",
           "locked_for", "record_failure", "record_success"]

FREE_BY_NAME = 5
FREE_BY_ADDRESS = 20
FIRST_LOCK = timedelta(seconds=2)
LONGEST_LOCK = timedelta(minutes=15)
FORGET_AFTER = timedelta(hours=1)


def _ids(name: str | None, address: str | None) -> list[tuple[str, int]]:
    found: list[tuple[str, int]] = []
    if name is not None:
        found.append((f"name:{name.strip().lower()[:256]}", FREE_BY_NAME))
    if address is not None:
        found.append((f"address:{address[:256]}", FREE_BY_ADDRESS))
    return found


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def locked_for(conn: sa.Connection, name: str | None, address: str | None,
               now: datetime) -> timedelta | None:
    """How much longer sign-in stays locked for this name or this address (the longer), or
    None when it is open."""
    ids = [id for id, _ in _ids(name, address)]
    rows = conn.execute(sa.select(t.sign_in_failures.c.locked_until).where(
        t.sign_in_failures.c.id.in_(ids), t.sign_in_failures.c.locked_until.is_not(None)))
    waits = [_aware(until) - now for (until,) in rows if _aware(until) > now]
    return max(waits) if waits else None


def record_failure(conn: sa.Connection, name: str | None, address: str | None,
                   now: datetime) -> None:
    """Count a failed sign-in against the name and the address, locking either once it has
    failed more than its free attempts."""
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    table = t.sign_in_failures
    # What is forgotten goes, so guessing many names leaves no lasting rows (an address is
    # locked after its free failures anyway, which bounds how fast rows come).
    conn.execute(sa.delete(table).where(table.c.last_at < now - FORGET_AFTER,
                                        sa.or_(table.c.locked_until.is_(None),
                                               table.c.locked_until < now)))
    for id, free in _ids(name, address):
        conn.execute(insert(table).values(id=id, failures=0, last_at=now, locked_until=None)
                     .on_conflict_do_nothing(index_elements=["id"]))
        # Counted in the database (failures + 1), so concurrent failures all count.
        conn.execute(sa.update(table).where(table.c.id == id).values(
            failures=sa.case((table.c.last_at < now - FORGET_AFTER, 1),
                             else_=table.c.failures + 1),
            last_at=now))
        failures = conn.execute(sa.select(table.c.failures).where(table.c.id == id)).scalar_one()
        if failures > free:
            lock = min(LONGEST_LOCK, FIRST_LOCK * 2 ** min(failures - free - 1, 20))
            conn.execute(sa.update(table).where(table.c.id == id).values(locked_until=now + lock))


def record_success(conn: sa.Connection, name: str) -> None:
    """A good sign-in: the name's failures are forgotten."""
    [(id, _)] = _ids(name, None)
    conn.execute(sa.delete(t.sign_in_failures).where(t.sign_in_failures.c.id == id))
