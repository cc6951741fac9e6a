"""The worker loop of ``itinera serve``: apply what the service received as soon as it is
received, and fire timers as the clock passes them, until told to stop; beside it, a thread
delivering the outbox.

The two run apart so that neither waits for the other: a slow webhook does not hold up the
next inputs, and a large batch of inputs does not hold up deliveries. A round that applied
something wakes the deliveries at once (it may have decided effects).

An error applying a batch (the database unreachable, an input the engine refuses) rolls that
batch back whole; it is logged and tried again after a pause, so the loop never dies of it.
The same holds for a failing round of deliveries.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from itinera.runtime.dispatcher import Dispatcher
from itinera.runtime.service import Service

__all__ = ["run_worker"]

log = logging.getLogger("itinera.worker")


def run_worker(service: Service, stop: threading.Event, interval: float = 0.1,
               limit: int = 500, dispatcher: Dispatcher | None = None) -> None:
    """Call ``service.work_round()`` until ``stop`` is set: at once while a backlog remains,
    else when an input is submitted through ``service`` or after ``interval`` seconds (timers
    falling due, inputs stored by other processes); back off up to 5 s while it fails. With a
    ``dispatcher``, a second thread delivers the outbox meanwhile. A stop is noticed within
    ``interval``; this returns once both have stopped."""
    decided = threading.Event()  # set after a round that applied something
    delivering = None
    if dispatcher is not None:
        delivering = threading.Thread(target=_deliver, name="itinera-dispatcher", daemon=True,
                                      args=(dispatcher, stop, decided, interval))
        delivering.start()

    def work() -> bool:
        done = service.work_round(limit)
        if done.inputs or done.timers:
            decided.set()
        return done.more

    try:
        _loop(work, stop, interval, lambda: service.wait_for_input(interval), "apply the inbox")
    finally:
        decided.set()  # a waiting dispatcher sees the stop now
        if delivering is not None:
            delivering.join()
        if dispatcher is not None:
            dispatcher.close()


def _deliver(dispatcher: Dispatcher, stop: threading.Event, decided: threading.Event,
             interval: float) -> None:
    def wait() -> None:  # for new effects, or for retries falling due
        decided.wait(interval)
        decided.clear()

    _loop(lambda: dispatcher.dispatch() >= dispatcher.batch, stop, interval, wait,
          "deliver the outbox")


def _loop(step: Callable[[], bool], stop: threading.Event, interval: float,
          wait: Callable[[], object], what: str) -> None:
    """Call ``step`` (which says whether work is left) until ``stop``; ``wait`` when idle."""
    failures = 0
    while not stop.is_set():
        try:
            more = step()
        except Exception:
            failures += 1
            log.exception("the worker could not %s (attempt %d)", what, failures)
            stop.wait(min(interval * 2 ** failures, 5.0))
            continue
        failures = 0
        if not more:
            wait()
