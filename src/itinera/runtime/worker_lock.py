"""One database, one kind of worker: a lone worker or workers that share.

A lone worker (``itinera serve``, ``itinera demo``) keeps its timers indexed in memory and
assumes it is the only writer; a second worker of any kind beside it would fire timers twice.
Sharing workers (``itinera worker``, ``itinera serve --shared``) coordinate through per-account
locks and may run together. The service therefore holds, for its whole life, a lock that says
which kind it is: on PostgreSQL a session advisory lock, taken exclusively by a lone worker and
shared by the others; on SQLite (lone workers only) an exclusive lock on a file beside the
database. A process that dies releases it with its connection or its file descriptor.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import IO

import sqlalchemy as sa

from itinera.errors import ItineraError
from itinera.runtime.partition import lock_key

__all__ = ["WorkerLock", "WorkerLockError"]

_NAME = "itinera:worker-kind"


class WorkerLockError(ItineraError):
    """Another worker of an incompatible kind uses the database."""


class WorkerLock:
    """Held from construction until :meth:`release`."""

    def __init__(self, engine: sa.Engine, shared: bool) -> None:
        self._connection: sa.Connection | None = None
        self._file: IO[bytes] | None = None
        if engine.dialect.name == "postgresql":
            self._hold_advisory(engine, shared)
        elif engine.url.database not in (None, "", ":memory:"):
            self._hold_file(Path(str(engine.url.database)))

    def _hold_advisory(self, engine: sa.Engine, shared: bool) -> None:
        connection = engine.connect()
        schema = connection.execute(sa.text("SELECT current_schema()")).scalar()
        function = "pg_try_advisory_lock_shared" if shared else "pg_try_advisory_lock"
        taken = connection.execute(sa.text(f"SELECT {function}(:key)"),
                                   {"key": lock_key(f"{schema}/{_NAME}")}).scalar()
        connection.commit()
        if not taken:
            connection.close()
            if shared:
                raise WorkerLockError(
                    "a lone worker (`itinera serve` without --shared) uses this database: "
                    "restart it with --shared to add workers")
            raise WorkerLockError(
                "other workers use this database: start this one with --shared "
                "(`itinera serve --shared`) or stop them")
        self._connection = connection

    def _hold_file(self, database: Path) -> None:
        try:
            import fcntl
        except ImportError:  # no advisory file locks here (Windows): nothing to guard with
            return
        handle = open(database.with_name(database.name + ".worker-lock"), "ab")  # noqa: SIM115
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise WorkerLockError(
                f"another worker (`itinera serve` or `itinera demo`) uses {database}; "
                "SQLite takes one worker: stop it, or use PostgreSQL for several") from None
        handle.write(f"{os.getpid()}\n".encode())
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(sa.exc.SQLAlchemyError):
                # Closed for good, not back to the pool: the session lock ends with the session.
                self._connection.invalidate()
                self._connection.close()
            self._connection = None
        if self._file is not None:
            self._file.close()
            self._file = None
