"""Per-key rate limits on the ingestion routes (Segment's ``/v1/*`` and the bulk writes): a
token bucket per key, so a key embedded in a public website cannot flood the service.

Each ``ingest`` key is held to its own rate (``api_keys.rate_limit``, requests per second) or
else the service's setting (``itinera serve --ingest-rate``, :data:`DEFAULT_RATE`); a key of
another scope is held only when it has a rate of its own. A bucket holds
:data:`BURST_SECONDS` worth of requests, so short bursts pass. A request beyond it is answered
429 with ``Retry-After``.

The buckets are kept in each process's memory (no write to the store per request): with N
``itinera serve`` processes behind a load balancer, a key gets at most N times its rate.
Memory is bounded: at most :data:`MOST_KEYS` buckets, the fullest (idlest) dropped first.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from itinera.storage.keys import ApiKey

__all__ = ["BURST_SECONDS", "DEFAULT_RATE", "MOST_KEYS", "RateLimits"]

DEFAULT_RATE = 50.0
BURST_SECONDS = 2.0
MOST_KEYS = 10_000


class RateLimits:
    """The token buckets of one process. ``default`` is the rate of ``ingest`` keys without
    one of their own (None or 0: unlimited); ``now`` is a monotonic clock in seconds."""

    def __init__(self, default: float | None = DEFAULT_RATE,
                 now: Callable[[], float] = time.monotonic) -> None:
        self.default = default or None
        self.now = now
        self._buckets: dict[str, tuple[float, float]] = {}  # key id: (tokens, at)
        self._lock = threading.Lock()  # the API answers in a thread pool

    def rate_of(self, key: ApiKey) -> float | None:
        """Requests per second ``key`` may make on the ingestion routes; None: unlimited."""
        if key.rate_limit:
            return key.rate_limit
        return self.default if key.scope == "ingest" else None

    def take(self, key: ApiKey) -> float | None:
        """Count a request of ``key``: None when it may go, else the seconds to wait."""
        rate = self.rate_of(key)
        if rate is None:
            return None
        capacity = max(1.0, rate * BURST_SECONDS)
        with self._lock:
            now = self.now()
            tokens, at = self._buckets.get(key.id, (capacity, now))
            tokens = min(capacity, tokens + (now - at) * rate)
            if tokens < 1:
                self._buckets[key.id] = (tokens, now)
                return (1 - tokens) / rate
            if key.id not in self._buckets and len(self._buckets) >= MOST_KEYS:
                self._forget(capacity)
            self._buckets[key.id] = (tokens - 1, now)
            return None

    def _forget(self, capacity: float) -> None:
        """Drop the fullest buckets (idle keys: a new bucket starts full anyway)."""
        fullest = sorted(self._buckets, key=lambda id: -self._buckets[id][0])
        for id in fullest[: max(1, len(fullest) // 10)]:
            del self._buckets[id]

    @staticmethod
    def retry_after(wait: float) -> str:
        """``Retry-After``'s value (whole seconds, at least 1)."""
        return str(max(1, math.ceil(wait)))
