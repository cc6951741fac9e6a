"""The worker loop of ``itinera serve``: apply what the service received, and fire timers as
the clock passes them, until told to stop.

An error applying a batch (the database unreachable, an input the engine refuses) rolls that
batch back whole; it is logged and tried again after a pause, so the loop never dies of it.
"""

from __future__ import annotations

import logging
import threading

from itinera.runtime.dispatcher import Dispatcher
from itinera.runtime.service import Service

__all__ = ["run_worker"]

log = logging.getLogger("itinera.worker")


def run_worker(service: Service, stop: threading.Event, interval: float = 0.1,
               limit: int = 500, dispatcher: Dispatcher | None = None) -> None:
    """Call ``service.work()`` (and ``dispatcher.dispatch()``, delivering the outbox) every
    ``interval`` seconds, at once while a backlog remains, until ``stop`` is set; back off up
    to 5 s while it fails."""
    failures = 0
    while not stop.is_set():
        try:
            applied = service.work(limit)
            if dispatcher is not None:
                applied += dispatcher.dispatch(limit)
        except Exception:
            failures += 1
            log.exception("the worker could not apply the inbox (attempt %d)", failures)
            stop.wait(min(interval * 2 ** failures, 5.0))
            continue
        failures = 0
        if applied < limit:
            stop.wait(interval)
