"""Running a check off the service: in a child process of its own, with a time limit and a
memory limit, at most :data:`SLOTS` at once per service.

A scenario or a backtest is CPU work in the simulator that may take long on a big history; in
the server's process it would hold the GIL from the API and the worker. A child process
(``spawn``: nothing of the server's state, its threads or connections, is inherited) runs
it; the request's thread waits for its answer up to the limit and then kills it. The routes
that call :meth:`Runs.run` are synchronous, so FastAPI runs them in its thread pool, never on
the event loop.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from itinera.errors import ItineraError

__all__ = ["MEMORY", "SLOTS", "RunRefused", "Runs"]

SLOTS = 2  # checks running at once; the machine's other cores serve the API and the worker
MEMORY = 2 * 1024**3  # bytes of address space a check's process may take


class RunRefused(ItineraError):
    """Not run, or stopped: ``status`` is the HTTP status saying why (429 busy, 504 too long,
    500 failed)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _child(connection: Connection, function: Callable[..., Any], args: tuple[Any, ...],
           memory: int) -> None:
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    except (ImportError, ValueError, OSError):  # not on this system: the time limit still holds
        pass
    try:
        connection.send(("ok", function(*args)))
    except MemoryError:
        connection.send(("error", "the check ran out of memory (a history or scenario too large)"))
    except Exception as error:  # the parent says what failed
        connection.send(("error", f"{type(error).__name__}: {error}"))
    finally:
        connection.close()


class Runs:
    """The checks of one service: at most ``slots`` at once (another is refused, 429)."""

    def __init__(self, slots: int = SLOTS, memory: int = MEMORY) -> None:
        self._slots = threading.BoundedSemaphore(slots)
        self.memory = memory

    def run(self, function: Callable[..., Any], *args: Any, seconds: float) -> Any:
        """``function(*args)`` in a child process (both picklable, the function importable),
        its answer; :class:`RunRefused` when busy, past ``seconds`` or failed."""
        if not self._slots.acquire(blocking=False):
            raise RunRefused(429, "other checks are running: try again in a moment")
        try:
            return self._run(function, args, seconds)
        finally:
            self._slots.release()

    def _run(self, function: Callable[..., Any], args: tuple[Any, ...], seconds: float) -> Any:
        context = multiprocessing.get_context("spawn")
        receiving, sending = context.Pipe(duplex=False)
        process = context.Process(target=_child, args=(sending, function, args, self.memory),
                                  name="itinera-check", daemon=True)
        process.start()
        sending.close()
        try:
            if not receiving.poll(seconds):
                raise RunRefused(504, f"the check took longer than {seconds:g} s and was "
                                      "stopped: try a shorter window or a smaller scenario")
            try:
                kind, value = receiving.recv()
            except EOFError:
                raise RunRefused(500, "the check's process ended without an answer "
                                      f"(exit code {process.exitcode})") from None
        finally:
            receiving.close()
            if process.is_alive():
                process.kill()
            process.join(5)
        if kind != "ok":
            raise RunRefused(500, f"the check failed: {value}")
        return value
