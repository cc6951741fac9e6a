"""The worker loop of ``itinera serve``: apply what the service received as soon as it is
received, and fire timers as the clock passes them, until told to stop.

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
    """Call ``service.work_round()`` (and ``dispatcher.dispatch()``, delivering the outbox)
    until ``stop`` is set: at once while a backlog remains, else when an input is submitted
    through ``service`` or after ``interval`` seconds (timers falling due, inputs stored by
    other processes); back off up to 5 s while it fails. A stop is noticed within
    ``interval``."""
    failures = 0
    while not stop.is_set():
        try:
            more = service.work_round(limit).more
            if dispatcher is not None:
                more = dispatcher.dispatch(limit) >= limit or more
        except Exception:
            failures += 1
            log.exception("the worker could not apply the inbox (attempt %d)", failures)
            stop.wait(min(interval * 2 ** failures, 5.0))
            continue
        failures = 0
        if not more:
            service.wait_for_input(interval)
