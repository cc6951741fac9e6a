"""The dispatcher: delivers the outbox's effects through the channels, with retries.

Each effect is tried once per claim. A retryable failure waits with exponential backoff (or as
long as the other side asked); after ``max_attempts`` the effect is dead-lettered, as is a
permanent failure at once. Delivery is at-least-once, and ``docs/runtime.md`` lists exactly when
a repeat happens: a process killed between sending and recording sends again after the lease,
and a request whose answer never came (a timeout, a connection cut) is tried again — every email
and webhook carries the effect's idempotency key (``X-Itinera-Key``) so receivers, and our
tests, recognise a repeat. Outcomes that could not be recorded (the database locked or away)
are kept and recorded before anything new is claimed, so a failed record alone never repeats a
delivery; outcomes the database refuses for what they hold are dropped instead (their effects are
claimed again after the lease), since kept they would stop every later claim.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from concurrent.futures import ALL_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from itinera.channels.base import Channel, PermanentError, RetryableError
from itinera.runtime.clock import Clock
from itinera.storage import outbox, suppressions
from itinera.storage.engine import READER
from itinera.storage.outbox import Outcome
from itinera.storage.sql import SqlStore
from itinera.storage.store import Effect

__all__ = ["RECORD_EVERY", "Dispatcher", "RetryPolicy"]

log = logging.getLogger("itinera.dispatcher")

RECORD_EVERY = 0.01  # seconds: outcomes that came within it are recorded in one transaction


@dataclass(frozen=True)
class RetryPolicy:
    first_delay: timedelta = timedelta(seconds=30)
    max_delay: timedelta = timedelta(hours=1)
    max_attempts: int = 8
    lease: timedelta = timedelta(minutes=5)

    def delay(self, attempts: int, asked: float | None = None) -> timedelta:
        """Wait after the ``attempts``-th failed attempt: doubling, capped; at least what the
        receiver asked (``Retry-After``), up to a day."""
        backoff = min(self.first_delay * (1 << min(max(attempts - 1, 0), 30)), self.max_delay)
        if asked is not None and asked == asked:  # not NaN
            backoff = max(backoff, timedelta(seconds=min(max(asked, 0.0), 86400.0)))
        return backoff


class Dispatcher:
    """Claims up to ``batch`` due effects and delivers them ``concurrency`` at a time (each
    channel call waits on the network, not on us), recording outcomes as they come, those
    that came meanwhile together: a kill repeats at most what was sent since the last record,
    each with its idempotency key."""

    def __init__(self, store: SqlStore, channels: Mapping[str, Channel], clock: Clock,
                 policy: RetryPolicy | None = None, concurrency: int = 8,
                 batch: int = 64) -> None:
        self.store = store
        self.channels = channels
        self.clock = clock
        self.policy = policy or RetryPolicy()
        self.concurrency = max(1, concurrency)
        self.batch = max(1, batch)
        self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="itinera-deliver")
        # Outcomes of a claim that could not be recorded, with the claim's lease end: recorded
        # before the next claim. Without them, what was sent would be sent again once the
        # lease ended.
        self._unrecorded: list[tuple[list[tuple[int, Outcome | None]], datetime]] = []

    def close(self) -> None:
        """Stop the delivery threads (after what they are sending), and record what is left."""
        self._pool.shutdown(wait=True)
        try:
            self._record_unrecorded()
        except Exception:  # still failing: those effects are claimed again after their lease
            log.exception("could not record %d delivery outcomes",
                          sum(len(outcomes) for outcomes, _ in self._unrecorded))

    def dispatch(self, limit: int | None = None) -> int:
        """Claim due effects (``limit``, else ``batch``), deliver them, record each outcome;
        returns how many were tried. Outcomes an earlier call could not record are recorded
        first; while that fails, this raises and claims nothing."""
        self._record_unrecorded()
        claimed_at = self.clock.now()
        lease_end = claimed_at + self.policy.lease
        give_back_at = claimed_at + self.policy.lease / 2
        # A look first, as a reader: an idle dispatcher polling often takes no write lock.
        with self.store.engine.connect() as connection:
            if not outbox.any_due(connection.execution_options(**{READER: True}), claimed_at):
                return 0
        with self.store.transaction():
            claimed = outbox.claim(self.store, claimed_at, limit or self.batch, self.policy.lease)
            # People who unsubscribed since their email was decided get nothing.
            gone = outbox.unsubscribed(self.store, {e.person for e, _ in claimed
                                                    if e.channel == "email" and e.person})
            # Addresses that bounced hard or complained get nothing either.
            blocked = suppressions.suppressed(self.store.conn, {
                str(e.payload.get("to")) for e, _ in claimed if e.channel == "email"})

        def attempt(effect: Effect, attempts: int) -> Outcome | None:
            if self.clock.now() >= give_back_at:
                # Slow deliveries ate half the lease: give the rest back rather than risk
                # sending what another dispatcher claims once the lease ends.
                return None
            return self._attempt(effect, attempts, gone, blocked)

        # All of the claim goes to the delivery threads at once, and outcomes are recorded as
        # they come, those of up to RECORD_EVERY together: sending never waits for the write
        # lock, and a kill repeats only what was sent since the last record.
        waiting = {self._pool.submit(attempt, effect, attempts): effect.id
                   for effect, attempts in claimed}
        came: list[tuple[int, Outcome | None]] = []
        try:
            while waiting:
                done, _ = wait(waiting, timeout=RECORD_EVERY, return_when=ALL_COMPLETED)
                for future in done:
                    # Kept one by one, and out of ``waiting`` only once kept: an interrupt
                    # here loses no outcome (what is still waiting is finished below).
                    came.append((waiting[future], future.result()))
                    del waiting[future]
                if came:
                    self._record(came, lease_end)
                    came = []
        except BaseException:
            # Nothing more can be recorded now (the database locked or away): what has not
            # started is not sent; what was sent or is being sent keeps its outcome, recorded
            # before the next claim, so it is not sent again when the lease ends.
            self._unrecorded.append((came + _finish(waiting), lease_end))
            raise
        return len(claimed)

    def _record_unrecorded(self) -> None:
        """Record the outcomes kept from claims whose record failed (oldest first). The
        record holds only while the effect is still under that claim's lease end, so one
        claimed again since by another dispatcher is left to it."""
        while self._unrecorded:
            outcomes, lease_end = self._unrecorded[0]
            try:
                self._record(outcomes, lease_end)
            except (sa.exc.DataError, sa.exc.IntegrityError):
                # Refused for what the outcomes hold, not for the database being busy or
                # away: it would fail at every try, and no effect would be delivered again.
                # Those effects are claimed again once their lease ends.
                log.exception("could not record %d delivery outcomes; dropped", len(outcomes))
            self._unrecorded.pop(0)

    def _record(self, outcomes: list[tuple[int, Outcome | None]], lease_end: datetime) -> None:
        """Record outcomes in one transaction; an effect without one (untried) is given back."""
        now = self.clock.now()
        with self.store.transaction():
            untried = [effect for effect, outcome in outcomes if outcome is None]
            if untried:
                outbox.release(self.store, untried, lease_end, now)
            outbox.record_all(self.store, [o for _, o in outcomes if o is not None], now,
                              lease_end)

    def _attempt(self, effect: Effect, attempts: int, gone: set[str],
                 blocked: set[str]) -> Outcome:
        try:
            return self._try(effect, attempts, gone, blocked)
        except Exception as error:  # never lose the group's other outcomes to one effect
            return Outcome(effect.id, "dead", f"could not be handled: {type(error).__name__}: "
                                               f"{error}")

    def _try(self, effect: Effect, attempts: int, gone: set[str], blocked: set[str]) -> Outcome:
        channel = self.channels.get(effect.channel)
        if channel is None:  # perhaps configured later: waits like any retryable failure
            return self._failed(effect, attempts, f"no channel {effect.channel!r} is configured")
        if effect.channel == "email" and effect.person in gone:
            return Outcome(effect.id, "skipped", "unsubscribed before it was sent")
        if effect.channel == "email" and str(effect.payload.get("to", "")).lower() in blocked:
            return Outcome(effect.id, "skipped", "suppressed")
        try:
            delivery = channel.deliver(effect)
        except PermanentError as error:
            return Outcome(effect.id, "dead", str(error))
        except RetryableError as error:
            return self._failed(effect, attempts, str(error), error.retry_after)
        except (Exception, SystemExit) as error:
            # A channel's bug (``sys.exit`` in a plugin too): retried, then dead, never stuck
            # sending, and never stopping the dispatcher with other outcomes unrecorded.
            return self._failed(effect, attempts, f"{type(error).__name__}: {error}")
        if delivery.delivered:
            return Outcome(effect.id, "delivered")
        return Outcome(effect.id, "skipped", delivery.detail)

    def _failed(self, effect: Effect, attempts: int, reason: str,
                asked: float | None = None) -> Outcome:
        if attempts >= self.policy.max_attempts:
            return Outcome(effect.id, "dead", f"gave up after {attempts} attempts: {reason}")
        retry_at = self.clock.now() + self.policy.delay(attempts, asked)
        return Outcome(effect.id, "pending", reason, retry_at)


def _finish(waiting: Mapping[Future[Outcome | None], int]) -> list[tuple[int, Outcome | None]]:
    """The outcomes of deliveries in flight: those not started are cancelled (untried, given
    back), the others waited for (a channel call is bounded by its timeout)."""
    untried = [(effect, None) for future, effect in waiting.items() if future.cancel()]
    return untried + [(effect, future.result()) for future, effect in waiting.items()
                      if not future.cancelled()]
