"""Handing inputs to a live store from a command line: checked, stored durably, and applied.

The CLI's writes (publishing a journey, enabling it, importing data) are inputs like any other:
checked whole against what the store holds (by ``Service.submit``), then received into the inbox.
Who applies them depends on who else is there. When no worker runs on the database, this
process takes the worker lock, applies them itself and lets go; when a server or workers run,
it only submits and waits a while for them to apply the inputs, in arrival order as always.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from itinera.domain.actor import Actor
from itinera.runtime.clock import Clock
from itinera.runtime.service import Service
from itinera.runtime.worker_lock import WorkerLockError
from itinera.storage import audit
from itinera.storage import schema as t

__all__ = ["HandOver", "hand_over"]


@dataclass(frozen=True)
class HandOver:
    """What became of the inputs: how many were stored (repeats of known idempotency keys are
    not), whether they are applied yet, and by whom (``this process`` or ``a running worker``)."""

    stored: int
    applied: bool
    by: str


def hand_over(database_url: str, entries: list[dict[str, Any]], *, place: str = "inputs",
              clock: Clock | None = None, wait: float = 10.0,
              progress: Callable[[int], None] | None = None,
              actor: Actor | None = None) -> HandOver:
    """Check, store and apply ``entries``; nothing is stored when any of them is invalid.

    ``wait``: seconds to wait for a running worker to apply them (0: do not wait).
    ``actor``: who hands them over; the audit entries of the configuration changes among
    them are written in the transaction that stores them."""
    try:
        service = Service(database_url, clock)
    except WorkerLockError:
        return _submit_to_running_worker(database_url, entries, place, clock, wait, actor)
    try:
        stored = _submit(service, entries, place, actor)
        while True:  # a round may stop at its limit before reaching the inputs
            done = service.work_round()
            if progress is not None:
                progress(done.inputs)
            if not (done.inputs or done.more):
                break
        return HandOver(stored, True, "this process")
    finally:
        service.close()


def _submit(service: Service, entries: list[dict[str, Any]], place: str,
            actor: Actor | None) -> int:
    """Store ``entries`` (checked first: DefinitionError) with their audit entries, in one
    transaction of the service's receiving connection (``submit`` joins it)."""
    with service.intake.transaction():
        if actor is not None:  # read before: what the inputs change is not stored yet
            audit.record_inputs(service.intake.conn, actor, entries)
        return service.submit(entries, place)


def _submit_to_running_worker(database_url: str, entries: list[dict[str, Any]], place: str,
                              clock: Clock | None, wait: float,
                              actor: Actor | None) -> HandOver:
    service = Service(database_url, clock, receive_only=True)
    try:
        stored = _submit(service, entries, place, actor)
        received_at = service.clock.now()  # ours were received at or before this
        # The worker applies in arrival order: once nothing received up to ours is left in
        # the inbox, ours are applied.
        waiting = sa.select(sa.func.count()).select_from(t.inbox).where(
            t.inbox.c.received_at <= received_at)
        deadline = time.monotonic() + wait
        while True:
            with service.intake.engine.connect() as connection:
                left = connection.execute(waiting).scalar_one()
            if left == 0 or time.monotonic() >= deadline:
                return HandOver(stored, left == 0, "a running worker")
            time.sleep(0.1)
    finally:
        service.close()
