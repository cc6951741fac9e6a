"""``SqlBase``: what every part of the SQL store shares — the engine and connection, the
transaction, the buffer of writes sent in executemany batches, and the counters.

The store's tables and queries are in ``storage.sql`` (records) and ``storage.sql_timers``
(timers); this module holds no table-specific SQL but the counters'.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from itinera.storage import schema as t
from itinera.storage.engine import create_engine, remembering
from itinera.storage.timer_index import TimerIndex

__all__ = ["SqlBase", "among"]

_BLOCK = 1000  # ids reserved per round trip for seq: counters
_MAX_PENDING = 5000  # buffered writes sent at the latest when this many have gathered


@lru_cache(maxsize=64)
def _order_of(key: str) -> tuple[str, int]:
    verb, table = key.split(":")
    return table, (1 if verb == "delete" else 0) if table == "timers" else 0


def _write_order(write: tuple[str, dict[str, Any]]) -> tuple[str, int]:
    return _order_of(write[0])


def among(column: sa.ColumnElement[str], dialect: str) -> sa.ColumnElement[bool]:
    """``column`` is one of the ids bound as ``:ids`` — one parameter whatever their number (a
    JSON array on SQLite, an array on PostgreSQL), so the statement compiles once; an
    expanding ``IN`` is re-rendered for every call, which cost more than running it."""
    if dialect == "postgresql":
        return column == sa.any_(sa.bindparam("ids", type_=postgresql.ARRAY(sa.String)))
    values = sa.select(sa.column("value", sa.String)).select_from(
        sa.func.json_each(sa.bindparam("ids", type_=sa.String)))
    return column.in_(values)


@lru_cache(maxsize=1)
def _counter_query() -> sa.Select[Any]:
    return sa.select(t.counters.c.value).where(
        t.counters.c.key == sa.bindparam("key", type_=sa.String))


class SqlBase:
    """A connection to one SQL database with buffered writes. Not thread-safe: one store per
    worker thread."""

    def __init__(self, url: str, *, create: bool = True, exclusive: bool = True) -> None:
        """``exclusive``: this store object is the only writer of the database (the simulator,
        a single-process service); timers are then also indexed in memory."""
        self.engine = create_engine(url)
        self.dialect = self.engine.dialect.name
        if create:
            self.create_schema()
        self._conn: sa.Connection | None = None
        # Writes are buffered and sent in executemany batches before the next read or commit.
        self._pending: list[tuple[str, dict[str, Any]]] = []
        self._pending_events: set[str] = set()
        # Whether event ids are stored, as found in the current transaction (``check_events``,
        # ``note_events``; the engine never deletes an event).
        self._events_found: dict[str, bool] = {}
        self._statements: dict[str, Any] = {}
        self._compiled: dict[str, tuple[str, list[str], list[Any], bool]] = {}
        self._blocks: dict[str, list[int]] = {}
        # Counters read in the current transaction (``counter``), kept up to date by this
        # store's increments: a worker reads the configuration's version twice a round.
        self._counters: dict[str, int] = {}
        self._committed: list[Callable[[], None]] = []
        self._undo: list[Callable[[], None]] = []  # run, newest first, if the transaction rolls back
        self._in_transaction = False  # inside transaction(), which commits or rolls back
        self._timers = TimerIndex() if exclusive else None
        # Exclusive: goes up at every rollback, so records kept in memory across transactions
        # (``records_generation``) are known to be stale.
        self._rollbacks: int | None = 0 if exclusive else None
        # Shared: the timers of the accounts a transaction holds (``scope_timers``).
        self._scoped: TimerIndex | None = None
        self._scope: frozenset[str] = frozenset()
        # An exclusive store that started on an empty events table knows every event id, so
        # a new id needs no query (the common case of ingestion).
        self._event_ids: set[str] | None = None
        if exclusive:
            with self.engine.connect() as connection:
                if connection.execute(sa.select(t.events.c.id).limit(1)).first() is None:
                    self._event_ids = set()

    def create_schema(self) -> None:
        """Create the schema, or bring it to the latest migration, and install the SQL functions.

        In-memory SQLite (the simulator) takes ``metadata.create_all``: fast, and nothing
        outlives the store. A SQLite file or PostgreSQL is upgraded by the Alembic migrations
        (``storage.migrate``; a database created by ``create_all`` before migrations is stamped
        at the initial revision first). The functions are (re)installed at every start.
        """
        from itinera.conditions import sql as condition_sql
        from itinera.storage import migrate

        if self.dialect == "sqlite":
            if self.engine.url.database in (None, "", ":memory:"):
                t.metadata.create_all(self.engine)
            else:
                with self.engine.begin() as connection:
                    migrate.upgrade_connection(connection)
            condition_sql.install_sqlite_functions(self.engine)
        else:
            with self.engine.begin() as connection:
                migrate.upgrade_connection(connection)
                condition_sql.install_postgres_functions(connection)

    # -- connection and transactions ------------------------------------------------------
    @property
    def conn(self) -> sa.Connection:
        if self._conn is None:
            self._conn = self.engine.connect()
        return self._conn

    @contextmanager
    def transaction(self) -> Iterator[None]:
        connection = self.conn
        if connection.in_transaction():
            yield
            return
        self._in_transaction = True
        try:
            with connection.begin():
                yield
                self._flush()
        except BaseException:
            self._committed.clear()
            undo, self._undo = self._undo, []
            for callback in reversed(undo):
                callback()
            self._pending.clear()
            self._pending_events.clear()
            self._event_ids = None
            self._blocks.clear()
            if self._timers is not None:
                self._timers.invalidate()
            if self._rollbacks is not None:
                self._rollbacks += 1
            raise
        finally:
            self._scoped = None
            self._counters.clear()
            self._events_found.clear()
            self._in_transaction = False
        self._undo.clear()
        callbacks, self._committed = self._committed, []
        for callback in callbacks:
            callback()

    def records_generation(self) -> int | None:
        """None for a shared store (others write its records: read them afresh in each
        transaction). Exclusive: a number that changes at every rollback — records read and
        written through this store may be kept in memory while it stays the same."""
        return self._rollbacks

    def on_rollback(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` if the current transaction rolls back: to take back what was
        noted in memory about writes that did not land. Outside :meth:`transaction` there is
        nothing to take back from."""
        if self._in_transaction:
            self._undo.append(callback)

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once the current transaction has committed (not if it rolls
        back): to tell others about what they can now read."""
        self._committed.append(callback)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self.engine.dispose()

    def _exec(self, statement: Any, params: dict[str, Any] | None = None, *,
              flush: bool = True) -> sa.CursorResult[Any]:
        if flush:
            self._flush()
        return self.conn.execute(statement, params)

    def _flush(self) -> None:
        """Send buffered writes in executemany batches.

        Writes are grouped by table, keeping their order within a table (a membership left and
        re-entered must stay in that order); timers, whose ids are never reused, take all
        inserts before all deletes.
        """
        pending, self._pending = self._pending, []
        self._pending_events.clear()
        pending.sort(key=_write_order)
        start = 0
        while start < len(pending):
            key = pending[start][0]
            end = start
            while end < len(pending) and pending[end][0] == key:
                end += 1
            self._execute_many(key, [p for _, p in pending[start:end]])
            start = end

    def _execute_many(self, key: str, rows: list[dict[str, Any]]) -> None:
        """One executemany straight to the driver, with SQL compiled once per statement and
        the columns' own bind processors (JSON, instants, booleans) applied to the values;
        SQLAlchemy's per-row work would otherwise dominate bulk writes."""
        names = tuple(rows[0])
        cache_key = f"{key}|{','.join(names)}"
        compiled = self._compiled.get(cache_key)
        if compiled is None:
            dialect = self.engine.dialect
            statement = self._statement(key).compile(dialect=dialect, column_keys=list(names))
            order = list(statement.positiontup or []) if statement.positional else list(
                statement.binds)
            processors = [remembering(statement.binds[n].type, dialect) for n in order]
            compiled = self._compiled[cache_key] = (str(statement), order, processors,
                                                    statement.positional)
        sql, order, processors, positional = compiled
        converted = [(i, p) for i, p in enumerate(processors) if p is not None]
        get = itemgetter(*order)
        params: list[Any] = []
        for row in rows:
            values = get(row)
            values = list(values) if len(order) > 1 else [values]
            for i, process in converted:
                values[i] = process(values[i])
            params.append(tuple(values) if positional else dict(zip(order, values, strict=True)))
        self.conn.exec_driver_sql(sql, params)

    def _statement(self, key: str) -> Any:
        """Statements built once: ``upsert:T``, ``insert:T``, ``ignore:T``, ``delete:T``."""
        if key not in self._statements:
            verb, name = key.split(":")
            table = t.metadata.tables[name]
            keys = [c.name for c in table.primary_key.columns]
            dialect_insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
            if verb == "upsert":
                insert = dialect_insert(table)
                updates = {c.name: insert.excluded[c.name] for c in table.columns
                           if c.name not in keys}
                statement: Any = (insert.on_conflict_do_update(index_elements=keys, set_=updates)
                                  if updates else insert.on_conflict_do_nothing(index_elements=keys))
            elif verb == "ignore":
                statement = dialect_insert(table).on_conflict_do_nothing()
            elif verb == "insert":
                statement = sa.insert(table)
            elif verb == "delete":
                statement = sa.delete(table).where(
                    *[table.c[k] == sa.bindparam(f"k_{k}") for k in keys])
            else:
                statement = sa.update(table).where(
                    *[table.c[k] == sa.bindparam(f"k_{k}") for k in keys])
            self._statements[key] = statement
        return self._statements[key]

    def _write(self, key: str, params: dict[str, Any]) -> None:
        self._pending.append((key, params))
        if len(self._pending) >= _MAX_PENDING:
            self._flush()

    def _upsert(self, table: sa.Table, values: dict[str, Any]) -> None:
        self._write(f"upsert:{table.name}", values)

    def next_value(self, key: str) -> int:
        """The next value of a counter. ``seq:`` counters (ids, orders) are reserved from the
        database in blocks, so concurrent workers never share a value; others are exact."""
        if key.startswith("seq:"):
            block = self._blocks.get(key)
            if block is None or block[0] >= block[1]:
                high = self._increment(key, _BLOCK, apart=True)
                block = self._blocks[key] = [high - _BLOCK, high]
            block[0] += 1
            return block[0]
        return self._increment(key, 1, apart=True)

    def counter(self, key: str) -> int:
        """The value of a counter (0 before its first increment). Read once per transaction:
        later reads give that value with this store's own increments since — what others
        commit meanwhile (PostgreSQL reads them between statements) is seen in the next."""
        if key in self._counters:
            return self._counters[key]
        value = int(self._exec(_counter_query(), {"key": key}).scalar() or 0)
        if self._in_transaction:
            self._counters[key] = value
        return value

    def note_counter(self, key: str, value: int) -> None:
        """A counter's value read in the current transaction by another statement (a worker's
        take of its inputs): ``counter`` answers it."""
        if self._in_transaction:
            self._counters[key] = value

    def note_events(self, found: dict[str, bool]) -> None:
        """Whether these event ids are stored, read in the current transaction by another
        statement: ``has_event`` answers them from memory until it ends."""
        if self._in_transaction:
            self._events_found.update(found)

    def _increment(self, key: str, by: int, *, apart: bool = False) -> int:
        # One atomic statement: workers creating the same counter at once must not collide.
        insert = (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(t.counters)
        statement = insert.values(key=key, value=by).on_conflict_do_update(
            index_elements=["key"], set_={"value": t.counters.c.value + insert.excluded.value},
        ).returning(t.counters.c.value)
        if apart and self.dialect == "postgresql":
            # In a transaction of its own: the counter row is not held locked until the step
            # commits, so workers taking ids from several counters cannot deadlock.
            with self.engine.begin() as connection:
                value = int(connection.execute(statement).scalar_one())
        else:
            value = int(self._exec(statement).scalar_one())
        if key in self._counters:
            self._counters[key] = value
        return value
