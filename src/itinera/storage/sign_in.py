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
           "count_attempt", "locked_for", "record_failure", "record_success"]

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
                   now: datetime) -> timedelta | None:
    """Count a failed sign-in against the name and the address, locking either once it has
    failed more than its free attempts. Past them, one attempt a lock window is checked: the
    one that sets the lock; one that finds a lock set meanwhile gets it back (refused)."""
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    table = t.sign_in_failures
    refused: timedelta | None = None
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
        failures, until = conn.execute(sa.select(table.c.failures, table.c.locked_until)
                                       .where(table.c.id == id)).one()
        if failures > free:
            if until is not None and _aware(until) > now:
                # Locked since this attempt looked (a parallel one took the window): refused.
                held = _aware(until) - now
                refused = held if refused is None else max(refused, held)
                continue
            lock = min(LONGEST_LOCK, FIRST_LOCK * 2 ** min(failures - free - 1, 20))
            conn.execute(sa.update(table).where(table.c.id == id).values(locked_until=now + lock))
    return refused


def count_attempt(conn: sa.Connection, name: str | None, address: str | None,
                  now: datetime) -> timedelta | None:
    """Before any password is checked, in the sign-in's own write transaction: the lock that
    refuses this attempt, else None with the attempt counted as a failure (a good one is taken
    back by :func:`record_success`). Counting first is what holds under concurrency: parallel
    guesses each take a count (the update locks the row), so past the free attempts only one a
    lock window is checked, however many come at once."""
    return locked_for(conn, name, address, now) or record_failure(conn, name, address, now)


def record_success(conn: sa.Connection, name: str | None, address: str | None = None) -> None:
    """A good sign-in: the name's failures are forgotten, and the address's count taken by
    :func:`count_attempt` for this attempt is given back (its earlier failures stay)."""
    table = t.sign_in_failures
    if name is not None:
        [(id, _)] = _ids(name, None)
        conn.execute(sa.delete(table).where(table.c.id == id))
    if address is not None:
        [(id, _)] = _ids(None, address)
        conn.execute(sa.update(table).where(table.c.id == id, table.c.failures > 0)
                     .values(failures=table.c.failures - 1))
