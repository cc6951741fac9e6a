"""Sharing the work of one PostgreSQL database among several workers.

Inputs of one account must be applied in arrival order, and one account's records must have one
writer at a time; different accounts can go in parallel. A worker's transaction therefore takes
PostgreSQL advisory locks (released at commit): one per account it works on, tried without
waiting — an account another worker holds is simply left to it. Inputs that concern the whole
workspace (configuration, journey versions, lifecycle commands, a world load) take the global
lock exclusively and run alone; every other transaction holds the global lock shared. Inputs
after a pending workspace-wide one wait for it, so arrival order holds across kinds too.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from itinera.storage import inbox
from itinera.storage import schema as t
from itinera.storage.inbox import InboxRow
from itinera.storage.sql import SqlStore

__all__ = ["Claim", "claim", "lock_key"]

_GLOBAL = "itinera:workspace"
_TRY_MANY = sa.text("SELECT n, pg_try_advisory_xact_lock(k) FROM unnest(CAST(:keys AS bigint[])) "
                    "WITH ORDINALITY AS u(k, n) ORDER BY n")


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for ``name``."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big",
                          signed=True)


class _Locks:
    """Advisory locks of one transaction. Advisory locks are per database: the schema in use
    is part of each name, so stores in different schemas of one database (tests, tenants)
    never wait for each other."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.schema = store.conn.execute(sa.text("SELECT current_schema()")).scalar()

    def take(self, name: str, shared: bool = False) -> bool:
        function = "pg_try_advisory_xact_lock_shared" if shared else "pg_try_advisory_xact_lock"
        return bool(self.store.conn.execute(sa.text(f"SELECT {function}(:key)"),
                                            {"key": lock_key(f"{self.schema}/{name}")}).scalar())

    def take_accounts(self, accounts: list[str]) -> set[str]:
        """Try the locks of ``accounts`` (exclusive, without waiting) in one round trip; the
        accounts whose lock was granted."""
        if not accounts:
            return set()
        keys = [lock_key(f"{self.schema}/account:{a}") for a in accounts]
        granted = self.store.conn.execute(_TRY_MANY, {"keys": keys}).all()
        return {accounts[n - 1] for n, ok in granted if ok}


@dataclass
class Claim:
    """What one worker transaction may work on: inbox rows in arrival order, and the accounts
    whose timers it may fire (None: all of them — a workspace-wide claim)."""

    rows: list[InboxRow] = field(default_factory=list)
    accounts: set[str] | None = field(default_factory=set)


def claim(store: SqlStore, limit: int, now: datetime) -> Claim:
    """Inside a transaction on PostgreSQL: take what this worker can work on now."""
    candidates = inbox.take(store, limit * 4)
    locks = _Locks(store)
    if candidates and candidates[0].account is None and candidates[0].kind not in ("event",):
        if not locks.take(_GLOBAL):
            return Claim()
        rows = []
        for row in candidates:  # the workspace-wide rows at the head, in order
            if row.account is not None or row.kind == "event":
                break
            rows.append(row)
        return Claim(_still_there(store, rows), None)
    if not locks.take(_GLOBAL, shared=True):
        return Claim()
    owners = _owners(store, candidates)
    usable: list[tuple[InboxRow, str]] = []
    for row in candidates:
        owner = owners.get(row.seq)
        if owner is None:  # a workspace-wide row: what follows it waits for it
            break
        usable.append((row, owner))
    chosen: list[InboxRow] = []
    held: set[str] = set()
    refused: set[str] = set()
    # The locks of the next rows' accounts, a window at a time in one round trip each: the
    # window is what is left to fill, so the claim never holds more than it will work on.
    position = 0
    while position < len(usable) and len(chosen) < limit:
        window = usable[position:position + limit - len(chosen)]
        position += len(window)
        undecided = list(dict.fromkeys(o for _, o in window if o not in held and o not in refused))
        granted = locks.take_accounts(undecided)
        held |= granted
        refused.update(o for o in undecided if o not in granted)
        chosen += [row for row, owner in window if owner in held]
    # Accounts with timers due: more candidates than wanted, since other workers are taking
    # the oldest ones at the same moment (each would otherwise find them all refused).
    due = [a for a in _due_accounts(store, limit * 4, now) if a not in held and a not in refused]
    timers_held = 0
    while due and timers_held < limit:
        batch, due = due[:limit - timers_held], due[limit - timers_held:]
        granted = locks.take_accounts(batch)
        held |= granted
        timers_held += len(granted)
    return Claim(_still_there(store, chosen), held)


def _still_there(store: SqlStore, rows: list[InboxRow]) -> list[InboxRow]:
    """The rows no other worker applied meanwhile. The candidates were read before the locks
    were taken; a worker that held one of these accounts may have applied and removed rows
    since, and its commit (which released the lock) is visible to a new statement."""
    if not rows:
        return rows
    present = set(store.conn.execute(sa.select(t.inbox.c.seq).where(
        t.inbox.c.seq.in_([r.seq for r in rows]))).scalars())
    return [r for r in rows if r.seq in present]


def _owners(store: SqlStore, rows: list[InboxRow]) -> dict[int, str | None]:
    """Whose records each row touches: its account, or the account of its person."""
    persons = {row.payload.get("person") for row in rows
               if row.account is None and isinstance(row.payload, dict)}
    persons.discard(None)
    linked: dict[str, str | None] = {}
    if persons:
        for person_id, account in store.conn.execute(
                sa.select(t.people.c.id, t.people.c.account)
                .where(t.people.c.id.in_(list(persons)))):
            linked[person_id] = account
    owners: dict[int, str | None] = {}
    for row in rows:
        if row.account is not None:
            owners[row.seq] = row.account
        elif row.kind == "event" and isinstance(row.payload, dict):
            person = str(row.payload.get("person"))
            owners[row.seq] = linked.get(person) or f"person:{person}"
        else:
            owners[row.seq] = None
    return owners


def _due_accounts(store: SqlStore, limit: int, now: datetime) -> list[str]:
    """Accounts with timers due (the oldest first): candidates for this worker to hold."""
    rows = store.conn.execute(
        sa.select(t.timers.c.account).where(t.timers.c.held.is_(False),
                                            t.timers.c.due_at <= now)
        .order_by(t.timers.c.due_at).limit(limit))
    return list(dict.fromkeys(r.account for r in rows if r.account is not None))
