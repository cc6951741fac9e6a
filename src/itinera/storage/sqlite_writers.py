"""SQLite writers queue on a file lock instead of SQLite's busy handler.

A SQLite database has one writer at a time. A writer that finds the write lock taken is left by
SQLite to its busy handler, which sleeps and tries again — for up to 100 ms a sleep, however soon
the lock is released. With the API's requests, the worker and the dispatchers all writing, those
sleeps were most of the tail latency of an event's way through the service (and a dispatcher
could sleep through many of the worker's commits). Here each connection to a database file first
takes an exclusive ``flock`` on ``<database>.write-lock`` — released by ``COMMIT`` or
``ROLLBACK`` — and only then begins ``IMMEDIATE``: waiting writers, in this process or another
one, sleep in the kernel and the next one wakes the moment the lock is free. SQLite's own lock
still guards the data (a program that does not take the file lock is kept apart by it, with the
busy timeout as before).
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from typing import Any

__all__ = ["QueuedWriterConnection", "lock_path"]


def lock_path(database: str) -> str | None:
    """The lock file of a database file; None for a memory or URI database."""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return os.path.abspath(database) + ".write-lock"


class QueuedWriterConnection(sqlite3.Connection):
    """A ``sqlite3`` connection (the driver's ``factory``) whose write transactions are begun
    with :meth:`begin_write`, holding the database's write-lock file until they end."""

    def __init__(self, database: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(database, *args, **kwargs)
        path = lock_path(str(database))
        self._lock_file: int | None = None
        if path is not None:
            try:
                self._lock_file = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError:  # a directory we may not write: SQLite's own lock still guards
                pass
        self._holding = False

    def begin_write(self) -> None:
        """Wait for the file lock, then ``BEGIN IMMEDIATE``."""
        if self._lock_file is not None:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX)
            self._holding = True
        try:
            self.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._release()
            raise

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
        if self._holding and self._lock_file is not None:
            self._holding = False
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
