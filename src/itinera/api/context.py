"""What every endpoint works with: the service, connections for reads and direct writes, and
accepting inputs (store durably through ``Service.submit``; with ``wait``, apply them too).

Each request receives on a connection of its own (the pool is thread-safe), so requests are
received in parallel: on PostgreSQL truly, on SQLite one writer at a time, by its lock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, Path, Query, Request
from fastapi.responses import JSONResponse

from itinera.api.problems import ApiProblem
from itinera.domain.actor import Actor
from itinera.errors import ItineraError
from itinera.runtime.service import Service
from itinera.storage import audit, queries
from itinera.storage.engine import READER

__all__ = ["CHUNK", "ID_MAX", "After", "ApiContext", "Ctx", "RowId", "Wait", "accepted",
           "get_context"]

CHUNK = 500  # inputs stored per transaction when a request brings more (Segment's batches)


class ApiContext:
    """The service behind the API, and the wall clock of its sessions (``now``: real time even
    when the service's clock is accelerated, as in ``itinera demo``; tests replace it)."""

    def __init__(self, service: Service,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.service = service
        self.now = now

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        """A connection of its own for reads (the pool is thread-safe); on SQLite it does not
        take the write lock, so reads never queue behind the worker."""
        with self.service.intake.engine.connect() as connection:
            yield connection.execution_options(**{READER: True})

    @contextmanager
    def write(self) -> Iterator[sa.Connection]:
        """A transaction of its own for the API's direct writes (keys, tasks)."""
        with self.service.intake.engine.begin() as connection:
            yield connection

    def receive(self, entries: list[dict[str, Any]], keys: list[str | None] | None = None, *,
                place: str = "", rejected: list[tuple[str, Any]] | None = None,
                source: str = "segment", rejected_keys: list[str | None] | None = None,
                actor: Actor | None = None) -> int:
        """Store ``entries`` (and the ``rejected`` messages of the same request) in one
        transaction, durably, or nothing; returns how many entries were stored. With
        ``actor``, the audit entries of the configuration changes among them (publish,
        lifecycle, workspace data: ``audit.record_inputs``) are written in that transaction."""
        with self.service.intake.engine.begin() as connection:  # the request's own
            if rejected:
                queries.add_rejected(connection, source, rejected, self.service.clock.now(),
                                     rejected_keys)
            if actor is not None:  # read before: what the inputs change is not stored yet
                audit.record_inputs(connection, actor, entries)
            stored = self.service.submit(entries, place, keys, connection=connection) \
                if entries else 0
        if stored:
            self.service.wake()  # committed: the worker may take them now
        return stored

    def receive_in_chunks(self, entries: list[dict[str, Any]], keys: list[str | None],
                          rejected: list[tuple[str, Any]], rejected_keys: list[str | None],
                          source: str) -> None:
        """Store messages' inputs and rejected messages, :data:`CHUNK` at a time, each chunk
        in a short transaction of its own (a long one would hold SQLite's write lock, the
        worker and every other writer waiting). Each has its idempotency key (a messageId),
        so a retry after a failure part way stores again only what was not stored."""
        for start in range(0, len(entries), CHUNK):
            self.receive(entries[start:start + CHUNK], keys[start:start + CHUNK])
        for start in range(0, len(rejected), CHUNK):
            self.receive([], rejected=rejected[start:start + CHUNK], source=source,
                         rejected_keys=rejected_keys[start:start + CHUNK])

    def drain(self) -> None:
        """Apply everything received so far (``?wait=true``)."""
        try:
            while True:  # a round may stop at its limit before reaching the inputs
                done = self.service.work_round()
                if not (done.inputs or done.more):
                    break
        except ItineraError as error:
            raise ApiProblem(500, "not-applied", str(error)) from error


def get_context(request: Request) -> ApiContext:
    context: ApiContext = request.app.state.itinera
    return context


Ctx = Annotated[ApiContext, Depends(get_context)]
# Row ids (enrollments, tasks, deliveries, rejected messages, versions) are 32-bit integers in
# PostgreSQL: a larger number names nothing, and reaching SQL would be a server error.
ID_MAX = 2**31 - 1
RowId = Annotated[int, Path(ge=1, le=ID_MAX)]
After = Annotated[int | None, Query(ge=0, le=ID_MAX,
                                    description="The id after which the page starts.")]
Wait = Annotated[bool, Query(
    description="Apply the inputs before answering (the worker otherwise applies them within "
                "moments), so that reads after the answer see them.")]


def accepted(context: ApiContext, count: int, wait: bool) -> JSONResponse:
    """202 ``{"accepted": n}``; 200 once applied when the caller waits."""
    if wait:
        context.drain()
    return JSONResponse({"accepted": count}, status_code=200 if wait else 202)
