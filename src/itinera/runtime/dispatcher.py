"""The dispatcher: delivers the outbox's effects through the channels, with retries.

Each effect is tried once per claim. A retryable failure waits with exponential backoff (or as
long as the other side asked); after ``max_attempts`` the effect is dead-lettered, as is a
permanent failure at once. Delivery is at-least-once: a process killed between sending and
recording sends again after the lease — every email and webhook carries the effect's
idempotency key (``X-Itinera-Key``) so receivers, and our tests, recognise a repeat.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from itinera.channels.base import Channel, PermanentError, RetryableError
from itinera.runtime.clock import Clock
from itinera.storage import outbox
from itinera.storage.sql import SqlStore
from itinera.storage.store import Effect

__all__ = ["Dispatcher", "RetryPolicy"]


@dataclass(frozen=True)
class RetryPolicy:
    first_delay: timedelta = timedelta(seconds=30)
    max_delay: timedelta = timedelta(hours=1)
    max_attempts: int = 8
    lease: timedelta = timedelta(minutes=5)

    def delay(self, attempts: int, asked: float | None = None) -> timedelta:
        """Wait after the ``attempts``-th failed attempt: doubling, capped."""
        backoff = min(self.first_delay * (1 << min(max(attempts - 1, 0), 30)), self.max_delay)
        if asked is not None:
            backoff = max(backoff, timedelta(seconds=asked))
        return backoff


class Dispatcher:
    def __init__(self, store: SqlStore, channels: Mapping[str, Channel], clock: Clock,
                 policy: RetryPolicy | None = None) -> None:
        self.store = store
        self.channels = channels
        self.clock = clock
        self.policy = policy or RetryPolicy()

    def dispatch(self, limit: int = 50) -> int:
        """Claim due effects, deliver them, record each outcome; returns how many were tried."""
        with self.store.transaction():
            claimed = outbox.claim(self.store, self.clock.now(), limit, self.policy.lease)
        for effect, attempts in claimed:
            self._deliver(effect, attempts)
        return len(claimed)

    def _deliver(self, effect: Effect, attempts: int) -> None:
        channel = self.channels.get(effect.channel)
        now = self.clock.now()
        if channel is None:  # perhaps configured later: waits like any retryable failure
            reason = f"no channel {effect.channel!r} is configured"
            if attempts >= self.policy.max_attempts:
                self._record(effect, "dead", now, f"gave up after {attempts} attempts: {reason}")
            else:
                self._record(effect, "pending", now, reason, now + self.policy.delay(attempts))
            return
        if effect.channel == "email" and self._unsubscribed(effect):
            self._record(effect, "skipped", now, "unsubscribed before it was sent")
            return
        try:
            delivery = channel.deliver(effect)
        except PermanentError as error:
            self._record(effect, "dead", now, str(error))
        except RetryableError as error:
            if attempts >= self.policy.max_attempts:
                self._record(effect, "dead", now, f"gave up after {attempts} attempts: {error}")
            else:
                retry_at = now + self.policy.delay(attempts, error.retry_after)
                self._record(effect, "pending", now, str(error), retry_at)
        else:
            self._record(effect, "delivered" if delivery.delivered else "skipped", now,
                         None if delivery.delivered else delivery.detail)

    def _unsubscribed(self, effect: Effect) -> bool:
        if effect.person is None:
            return False
        with self.store.transaction():
            person = self.store.person(effect.person)
        return person is not None and person.unsubscribed

    def _record(self, effect: Effect, status: str, now: datetime, error: str | None,
                retry_at: datetime | None = None) -> None:
        with self.store.transaction():
            outbox.record(self.store, effect.id, status, now, error=error, retry_at=retry_at)
