"""SQLite writers queue for the write lock instead of sleeping in SQLite's busy handler.

A SQLite database has one writer at a time. A writer that finds the write lock taken is left by
SQLite to its busy handler, which sleeps and tries again — for up to 100 ms a sleep, however soon
the lock is released. With the API's requests, the worker and the dispatchers all writing, those
sleeps were most of the tail latency of an event's way through the service (and a dispatcher
could sleep through many of the worker's commits).

So a connection to a database file takes two locks before ``BEGIN IMMEDIATE``, both released by
``COMMIT``, ``ROLLBACK`` or closing it: a lock of this process for the file (threads queue on it
and the next one wakes the moment it is free), then an exclusive ``flock`` on
``<database>.write-lock``, which keeps other processes' writers out; only the one thread of each
process that is next in line polls for it, in steps of at most 2 ms. A writer gives up after
the busy timeout (30 s) with ``database is locked``, as SQLite would. A thread that already
writes to the file on another connection does not queue behind itself: it goes straight to
``BEGIN IMMEDIATE`` and SQLite's busy timeout decides. SQLite's own lock still guards the data:
a program that does not take these locks is kept apart by it, as before.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
import time
from typing import Any

__all__ = ["WAIT_LIMIT", "QueuedWriterConnection", "lock_path"]

WAIT_LIMIT = 30.0  # seconds a writer waits for the lock, as the busy timeout

_guard = threading.Lock()
_process_locks: dict[str, threading.Lock] = {}  # one per lock file
_writing: set[tuple[int, str]] = set()  # (thread, lock file) of each write under way


def lock_path(database: str) -> str | None:
    """The lock file of a database file; None for a memory or URI database. The real path:
    a file reached through a link has one lock file."""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return os.path.realpath(database) + ".write-lock"


def _process_lock(path: str) -> threading.Lock:
    with _guard:
        return _process_locks.setdefault(path, threading.Lock())


class QueuedWriterConnection(sqlite3.Connection):
    """A ``sqlite3`` connection (the driver's ``factory``) whose write transactions are begun
    with :meth:`begin_write`, holding the database's write locks until they end."""

    def __init__(self, database: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(database, *args, **kwargs)
        self._path = lock_path(str(database))
        self._lock_file: int | None = None
        if self._path is not None:
            try:
                self._lock_file = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError:  # another user's file: flock works on a read-only descriptor
                with contextlib.suppress(OSError):  # else SQLite's own lock still guards
                    self._lock_file = os.open(self._path, os.O_RDONLY)
        self._held: tuple[int, str] | None = None

    def begin_write(self) -> None:
        """Wait for the write locks (at most :data:`WAIT_LIMIT`), then ``BEGIN IMMEDIATE``."""
        if self._lock_file is not None and self._path is not None:
            me = (threading.get_ident(), self._path)
            with _guard:
                nested = me in _writing
            if not nested:
                self._acquire(me)
        try:
            self.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._release()
            raise

    def _acquire(self, me: tuple[int, str]) -> None:
        assert self._lock_file is not None
        deadline = time.monotonic() + WAIT_LIMIT
        queue = _process_lock(me[1])
        if not queue.acquire(timeout=WAIT_LIMIT):
            raise sqlite3.OperationalError("database is locked (waited for this process's writers)")
        try:
            pause = 0.0002
            while True:
                try:
                    fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:  # another process writes
                    if time.monotonic() >= deadline:
                        raise sqlite3.OperationalError(
                            "database is locked (waited for another process's writer)") from None
                    time.sleep(pause)
                    pause = min(pause * 2, 0.002)
        except BaseException:
            queue.release()
            raise
        with _guard:
            _writing.add(me)
        self._held = me

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._release()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._release()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._release()
            if self._lock_file is not None:
                os.close(self._lock_file)
                self._lock_file = None

    def _release(self) -> None:
        held, self._held = self._held, None
        if held is None or self._lock_file is None:
            return
        fcntl.flock(self._lock_file, fcntl.LOCK_UN)
        with _guard:
            _writing.discard(held)
        _process_lock(held[1]).release()
