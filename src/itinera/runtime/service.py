"""The live service: inputs are received into the durable inbox, a worker applies them to the
engine in arrival order, each at the instant it was received, and fires timers as the clock
passes them.

One worker per database for now (the engine store is then the only writer of the engine's
tables, so it keeps its in-memory timer index); several workers on PostgreSQL come next. Inputs
use the form of scenario timeline entries (``{"event": {...}}``, ``{"enable": "onboarding"}``,
...), plus ``{"configure": <workspace data>}`` and ``{"load_world": <scenario data>}``. A
``publish`` may carry ``moves`` / ``move_matching`` (in-flight moves) and ``source`` / ``by`` (the text it was
published from and who published it, kept with the version).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from itinera.definitions.scenario import ScenarioData, TimelineEntry, WorkspaceData
from itinera.engine.commands import apply_entry, stored_form, timeline_body
from itinera.engine.engine import Engine
from itinera.engine.setup import configure, load_workspace, load_world
from itinera.errors import DefinitionError
from itinera.runtime import partition
from itinera.runtime.checks import Refs, input_problems
from itinera.runtime.clock import Clock, SystemClock
from itinera.runtime.worker_lock import WorkerLock, WorkerLockError
from itinera.storage import inbox
from itinera.storage.sql import SqlStore

__all__ = ["Round", "Service"]

log = logging.getLogger("itinera.worker")

@dataclass
class Round:
    """What one ``work_round`` did; ``more``: it stopped at its limit with work left, so the
    next round should start at once."""

    inputs: int = 0
    timers: int = 0
    more: bool = False


class Service:
    """The application object the API, the CLI and the worker share."""

    def __init__(self, database_url: str, clock: Clock | None = None, *,
                 sandbox: bool = False, shared: bool = False, receive_only: bool = False) -> None:
        """``shared``: other workers use the same (PostgreSQL) database, and this one takes
        only the accounts it can lock (see ``runtime.partition``). ``receive_only``: this
        service only submits (an import beside a running server) and never works, so it
        takes no worker lock (``runtime.worker_lock``)."""
        if database_url in ("sqlite://", "sqlite:///:memory:"):
            raise ValueError("a service needs a database file or a PostgreSQL URL")
        self.clock = clock or SystemClock()
        # The worker's store: engine state, timers, outbox. Alone, it is the only writer and
        # keeps indexes in memory; shared, it reads what the others wrote.
        self.store = SqlStore(database_url, exclusive=not shared)
        if shared and self.store.dialect != "postgresql":
            raise ValueError("several workers need PostgreSQL")
        self.shared = shared
        self._worker_lock: WorkerLock | None = None
        if not receive_only:
            try:
                self._worker_lock = WorkerLock(self.store.engine, shared)
            except WorkerLockError:
                self.store.close()
                raise
        self.intake = SqlStore(database_url, create=False, exclusive=False)  # receiving only
        # The version first: should another worker change the workspace while it loads (its
        # statements may see part of it), the version is then older and work() reloads it
        # under its locks.
        with self.store.transaction():
            self._config_version: int | None = self.store.config_version()
        self.engine = Engine(self.store, load_workspace(self.store), sandbox=sandbox)
        self._latest: datetime | None = None  # the engine's clock never goes back
        self._lock = threading.Lock()
        self._arrived = threading.Event()  # set by submit: wakes a worker waiting for input

    def close(self) -> None:
        self.store.close()
        self.intake.close()
        if self._worker_lock is not None:
            self._worker_lock.release()

    # -- receiving -------------------------------------------------------------------------
    def submit(self, entries: list[dict[str, Any]], place: str = "inputs",
               keys: list[str | None] | None = None, *,
               connection: sa.Connection | None = None) -> int:
        """Validate every entry, then store them all durably (or none). Returns how many.

        ``keys``: one idempotency key per entry (a Segment messageId...), or None for the
        default (an event's id); an entry whose key the inbox holds is ignored.
        ``connection``: a transaction of the caller's (a request's own, so that requests are
        received in parallel), which then commits and calls :meth:`wake`; otherwise the
        service's receiving connection, in its current transaction or one of its own."""
        if keys is not None and len(keys) != len(entries):
            raise ValueError("submit: one key per entry")
        if connection is not None:
            return self._receive(connection, entries, place, keys)
        with self.intake.transaction():
            stored = self._receive(self.intake.conn, entries, place, keys)
            if stored:  # the caller may hold the transaction open: wake the worker at its end
                self.intake.after_commit(self._arrived.set)
        return stored

    def _receive(self, connection: sa.Connection, entries: list[dict[str, Any]], place: str,
                 keys: list[str | None] | None) -> int:
        received_at = self.clock.now()
        # Checked against what is stored (and waiting) in the transaction that stores them:
        # what the worker will apply cannot fail for a reason known now.
        problems = input_problems(Refs(connection), entries, place)
        if problems:
            raise DefinitionError(problems)
        rows = [_row(raw, keys[i] if keys is not None else None) | {"received_at": received_at}
                for i, raw in enumerate(entries)]
        inbox.put_rows(connection, rows)
        return len(rows)

    def wait_for_input(self, timeout: float) -> bool:
        """Wait until inputs are submitted through this object, or ``wake`` is called, or
        ``timeout`` seconds pass; whether woken. Inputs stored by other processes are not
        announced: a worker finds them at its next round."""
        arrived = self._arrived.wait(timeout)
        self._arrived.clear()
        return arrived

    def wake(self) -> None:
        """End a ``wait_for_input`` now (a worker being stopped)."""
        self._arrived.set()

    # -- working ---------------------------------------------------------------------------
    def work(self, limit: int = 500) -> int:
        """Apply up to ``limit`` received inputs and fire up to ``limit`` timers due by now;
        returns how many inputs were applied (``work_round`` says more)."""
        return self.work_round(limit).inputs

    def work_round(self, limit: int = 500) -> Round:
        """Apply up to ``limit`` received inputs in arrival order, each after the timers due
        before it, then the timers due by now; at most ``limit`` timers in all. One
        transaction: all of it lands, or none.

        The limits bound a transaction: a clock that jumped, or a date many accounts wait
        for, must not become one transaction of every timer (holding the database's write
        lock, on SQLite, while inputs queue behind it)."""
        if self._worker_lock is None:
            raise RuntimeError("a receive-only service does not work")
        try:
            return self._round(limit)
        except _InputFailed as failed:
            # The round rolled back whole. The input that failed goes to the rejected messages
            # (`/api/rejected?source=worker`), so the inputs after it are not held up behind
            # it forever; those before it are applied again in the next round.
            self._config_version = None  # the workspace in memory may hold part of the round
            reason = f"{type(failed.error).__name__}: {failed.error}"
            with self.store.transaction():
                inbox.reject(self.store, failed.seq, reason, self.clock.now())
            log.error("input %d (%s) could not be applied and was rejected: %s", failed.seq,
                      failed.kind, reason)
            return Round(more=True)
        except BaseException:
            self._config_version = None
            raise

    def _round(self, limit: int) -> Round:
        with self._lock, self.engine.batch():
            now = self.clock.now()
            accounts: set[str] | None = None
            if self.shared:
                claimed = partition.claim(self.store, limit, now)
                rows, accounts = claimed.rows, claimed.accounts
                if accounts is not None:  # held until the round ends: their timers in memory
                    self.store.scope_timers(accounts)
            else:
                rows = inbox.take_round(self.store, limit)  # with the version, event ids
            # Read after the claim took its locks: no one can change the workspace until this
            # transaction ends, and what others changed before is visible now.
            version = self.store.config_version()
            if version != self._config_version:
                self.engine.replace_workspace(load_workspace(self.store))
                self._config_version = version
            done = Round(more=len(rows) >= limit)
            world = self.engine.world
            if world is not None:  # the inputs' accounts in a few queries, not several each
                events = [r.payload for r in rows if r.kind == "event"]
                people = [e["person"] for e in events if not e.get("account") and e.get("person")]
                people += [r.payload["id"] for r in rows if r.kind == "upsert_person"]
                world.prefetch(list(dict.fromkeys(r.account for r in rows if r.account)),
                               list(dict.fromkeys(people)))
                self.store.check_events([e["id"] for e in events if e.get("id")])
            for row in rows:
                at = self._monotonic(row.received_at)
                if not self._fire_due(at, accounts, limit, done):
                    break  # timers due before this input are left: it waits for them
                try:
                    self._apply(row.kind, row.payload, at, f"inbox-{row.seq}")
                except SQLAlchemyError:
                    raise  # the database, not the input: the round is tried again
                except Exception as error:
                    raise _InputFailed(row.seq, row.kind, error) from error
                done.inputs += 1
            inbox.settle(self.store, [r.seq for r in rows[:done.inputs]], now)
            if not done.more:
                self._fire_due(self._monotonic(now), accounts, limit, done)
            if accounts is None:  # alone, or holding the workspace lock: the changes are ours
                self._config_version = self.store.config_version()
            return done

    def _fire_due(self, until: datetime, accounts: set[str] | None, limit: int,
                  done: Round) -> bool:
        """Fire the timers due by ``until`` within the round's limit; whether all were."""
        done.timers += self.engine.run_due(until, accounts, limit - done.timers)
        if done.timers < limit or not self.store.due_timers(until, 1, accounts):
            return True
        done.more = True
        return False

    def _monotonic(self, instant: datetime) -> datetime:
        if self._latest is not None and instant < self._latest:
            instant = self._latest
        self._latest = instant
        return instant

    def _apply(self, kind: str, payload: Any, at: datetime, event_id: str) -> None:
        if kind == "configure":
            configure(self.engine, WorkspaceData.model_validate(payload))
        elif kind == "load_world":
            load_world(self.engine, ScenarioData.model_validate(payload), at)
        else:
            apply_entry(self.engine, TimelineEntry.model_validate(timeline_body(kind, payload)),
                        at, event_id)


class _InputFailed(Exception):
    def __init__(self, seq: int, kind: str, error: Exception) -> None:
        super().__init__(seq, kind, error)
        self.seq, self.kind, self.error = seq, kind, error


def _row(raw: dict[str, Any], given_key: str | None = None) -> dict[str, Any]:
    """The inbox row of a checked input: its kind, the account it concerns (for sharing the
    work by account), its idempotency key and its payload."""
    kind, payload = stored_form(raw)
    key = account = None
    if kind == "event":
        key = f"event:{payload['id']}" if payload.get("id") else None
        account = payload.get("account")
    elif isinstance(payload, dict) and kind.startswith("upsert_"):
        account = payload.get("account") if kind == "upsert_person" else payload.get("id")
    return {"kind": kind, "account": account, "key": given_key or key, "payload": payload}
