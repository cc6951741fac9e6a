"""``SqlStore``: the Store on SQLAlchemy Core, for SQLite (embedded) and PostgreSQL.

All SQL of the store lives here. The dialects differ only in upsert syntax, JSON storage
(JSONB on PostgreSQL) and how instants come back (SQLite returns naive UTC).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from functools import lru_cache
from operator import itemgetter
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.pool import StaticPool

from itinera.domain.model import Account, BuyingGroup, Enrollment, Event, Person, Token
from itinera.errors import StoreError
from itinera.storage import schema as t
from itinera.storage.rows import account_from_row, group_from_row, person_from_row
from itinera.storage.store import AccountRecords, Effect, Timer
from itinera.storage.timer_index import TimerIndex
from itinera.timeutil import as_utc

_BLOCK = 1000  # ids reserved per round trip for seq: counters
_MAX_PENDING = 5000  # buffered writes sent at the latest when this many have gathered

__all__ = ["READER", "SqlStore", "create_engine"]

READER = "itinera_reader"  # execution option of a connection that only reads


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


def create_engine(url: str) -> sa.Engine:
    """An engine for ``url``; ``sqlite://`` (memory) shares one connection. JSON columns go
    through orjson, several times faster than the standard library on bulk writes."""
    options: dict[str, Any] = {"json_serializer": _json_text, "json_deserializer": orjson.loads}
    if not url.startswith("sqlite"):
        return sa.create_engine(url, **options)
    memory = url in ("sqlite://", "sqlite:///:memory:")
    if memory:
        options["poolclass"] = StaticPool
    engine = sa.create_engine(url, connect_args={"check_same_thread": False}, **options)

    # SQLite's driver would begin transactions lazily and as readers; a writer must take the
    # write lock at BEGIN (IMMEDIATE) so that concurrent writers queue instead of deadlocking,
    # and a file database runs in WAL mode so readers never block the writer. A connection
    # that only reads (execution option READER) begins as a reader: it neither waits for the
    # writer nor holds it up.
    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _: Any) -> None:
        dbapi_connection.isolation_level = None
        if not memory:
            dbapi_connection.execute("PRAGMA journal_mode=WAL")
        dbapi_connection.execute("PRAGMA busy_timeout=30000")

    @sa.event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        reader = connection.get_execution_options().get(READER, False)
        connection.exec_driver_sql("BEGIN" if reader else "BEGIN IMMEDIATE")

    return engine


def _remembering(type_: Any, dialect: Any) -> Callable[[Any], Any] | None:
    """The bind processor of ``type_``; for instants on SQLite (formatted as text, about a
    microsecond each), one that remembers what it formatted: the instants of one batch of
    steps repeat (the step's instant is in its history, effects and timers)."""
    process: Callable[[Any], Any] | None = type_.dialect_impl(dialect).bind_processor(dialect)
    if process is None or dialect.name != "sqlite" or not isinstance(type_, sa.DateTime):
        return process
    formatted: dict[tuple[datetime, Any], Any] = {}

    def remembered(value: datetime | None) -> Any:
        if value is None:
            return None
        key = (value, value.utcoffset())  # equal instants in other offsets format otherwise
        text = formatted.get(key)
        if text is None:
            if len(formatted) >= 10_000:
                formatted.clear()
            text = formatted[key] = process(value)
        return text

    return remembered


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


_at = as_utc


@lru_cache(maxsize=64)
def _order_of(key: str) -> tuple[str, int]:
    verb, table = key.split(":")
    return table, (1 if verb == "delete" else 0) if table == "timers" else 0


def _write_order(write: tuple[str, dict[str, Any]]) -> tuple[str, int]:
    return _order_of(write[0])


def _among(column: sa.ColumnElement[str], dialect: str) -> sa.ColumnElement[bool]:
    """``column`` is one of the ids bound as ``:ids`` — one parameter whatever their number (a
    JSON array on SQLite, an array on PostgreSQL), so the statement compiles once; an
    expanding ``IN`` is re-rendered for every call, which cost more than running it."""
    if dialect == "postgresql":
        return column == sa.any_(sa.bindparam("ids", type_=postgresql.ARRAY(sa.String)))
    values = sa.select(sa.column("value", sa.String)).select_from(
        sa.func.json_each(sa.bindparam("ids", type_=sa.String)))
    return column.in_(values)


@lru_cache(maxsize=2)
def _load_queries(dialect: str) -> tuple[sa.Select[Any], ...]:
    """The queries of ``load_accounts``, built once per dialect."""
    # Active enrollments, and each journey's latest one (for re-enrollment rules).
    latest = (sa.select(sa.func.max(t.enrollments.c.id))
              .where(_among(t.enrollments.c.account, dialect))
              .group_by(t.enrollments.c.account, t.enrollments.c.journey))
    return (
        sa.select(t.accounts).where(_among(t.accounts.c.id, dialect)),
        sa.select(t.people).where(_among(t.people.c.account, dialect)).order_by(t.people.c.seq),
        sa.select(t.buying_groups).where(_among(t.buying_groups.c.account, dialect))
        .order_by(t.buying_groups.c.seq),
        sa.select(t.segment_members).where(_among(t.segment_members.c.account, dialect)),
        sa.select(t.enrollments).where(sa.or_(
            sa.and_(_among(t.enrollments.c.account, dialect), t.enrollments.c.status == "active"),
            t.enrollments.c.id.in_(latest))).order_by(t.enrollments.c.id),
    )


@lru_cache(maxsize=2)
def _timers_of_query(dialect: str) -> sa.Select[Any]:
    return sa.select(t.timers).where(_among(t.timers.c.account, dialect)).order_by(t.timers.c.id)


class SqlStore:
    """A store in one SQL database. Not thread-safe: one store per worker thread."""

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
        self._statements: dict[str, Any] = {}
        self._compiled: dict[str, tuple[str, list[str], list[Any], bool]] = {}
        self._blocks: dict[str, list[int]] = {}
        self._committed: list[Callable[[], None]] = []
        self._timers = TimerIndex() if exclusive else None
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
        try:
            with connection.begin():
                yield
                self._flush()
        except BaseException:
            self._committed.clear()
            self._pending.clear()
            self._pending_events.clear()
            self._event_ids = None
            self._blocks.clear()
            if self._timers is not None:
                self._timers.invalidate()
            raise
        finally:
            self._scoped = None
        callbacks, self._committed = self._committed, []
        for callback in callbacks:
            callback()

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once the current transaction has committed (not if it rolls
        back): to tell others about what they can now read."""
        self._committed.append(callback)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self.engine.dispose()

    def _exec(self, statement: Any, *, flush: bool = True) -> sa.CursorResult[Any]:
        if flush:
            self._flush()
        return self.conn.execute(statement)

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
            processors = [_remembering(statement.binds[n].type, dialect) for n in order]
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

    # -- configuration --------------------------------------------------------------------
    def config(self, kind: str) -> list[tuple[str, dict[str, Any]]]:
        rows = self._exec(sa.select(t.config.c.id, t.config.c.body)
                          .where(t.config.c.kind == kind).order_by(t.config.c.seq))
        return [(row.id, row.body) for row in rows]

    def config_version(self) -> int:
        """Goes up with every change of configuration (workspace, journey versions, lifecycle);
        a worker reloads its workspace when it moved."""
        value = self._exec(sa.select(t.counters.c.value)
                           .where(t.counters.c.key == "config:version")).scalar()
        return int(value or 0)

    def put_config(self, kind: str, id: str, body: dict[str, Any]) -> None:
        self._increment("config:version", 1)
        existing = self._exec(sa.select(t.config.c.seq).where(
            t.config.c.kind == kind, t.config.c.id == id)).scalar()
        seq = existing if existing is not None else self.next_value("seq:config")
        self._upsert(t.config, {"kind": kind, "id": id, "seq": seq, "body": body})

    def put_journey_version(self, id: str, version: int, definition: dict[str, Any],
                            at: datetime) -> None:
        self._increment("config:version", 1)
        self._exec(sa.insert(t.journeys).values(id=id, version=version, definition=definition,
                                                published_at=at))

    def journey_versions(self) -> list[tuple[str, int, dict[str, Any]]]:
        rows = self._exec(sa.select(t.journeys.c.id, t.journeys.c.version,
                                    t.journeys.c.definition)
                          .order_by(t.journeys.c.id, t.journeys.c.version))
        return [(r.id, r.version, r.definition) for r in rows]

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
                return int(connection.execute(statement).scalar_one())
        return int(self._exec(statement).scalar_one())

    # -- accounts, people, groups, segments, events -----------------------------------------
    _account = staticmethod(account_from_row)

    def account(self, id: str) -> Account | None:
        row = self._exec(sa.select(t.accounts).where(t.accounts.c.id == id)).first()
        return None if row is None else self._account(row)

    def account_ids(self) -> list[str]:
        return list(self._exec(sa.select(t.accounts.c.id).order_by(t.accounts.c.id)).scalars())

    def accounts(self) -> list[Account]:
        return [self._account(r) for r in self._exec(sa.select(t.accounts).order_by(t.accounts.c.seq))]

    def save_account(self, account: Account) -> None:
        if not account.seq:
            account.seq = self.next_value("seq:account")
        self._upsert(t.accounts, {
            "id": account.id, "seq": account.seq, "attributes": account.attributes,
            "csm": account.csm, "created_at": account.created_at,
            "playbooks": account.playbooks, "moments": account.moments})

    _person = staticmethod(person_from_row)

    def person(self, id: str) -> Person | None:
        row = self._exec(sa.select(t.people).where(t.people.c.id == id)).first()
        return None if row is None else self._person(row)

    def people_of(self, account: str) -> list[Person]:
        rows = self._exec(sa.select(t.people).where(t.people.c.account == account)
                          .order_by(t.people.c.seq))
        return [self._person(r) for r in rows]

    def all_people(self) -> list[Person]:
        return [self._person(r) for r in self._exec(sa.select(t.people).order_by(t.people.c.seq))]

    def save_person(self, person: Person) -> None:
        if not person.seq:
            person.seq = self.next_value("seq:person")
        self._upsert(t.people, {
            "id": person.id, "seq": person.seq, "account": person.account, "email": person.email,
            "attributes": person.attributes, "score": person.score,
            "unsubscribed": person.unsubscribed})

    def delete_person(self, id: str) -> None:
        self._write("delete:people", {"k_id": id})

    _group = staticmethod(group_from_row)

    def buying_groups_of(self, account: str) -> list[BuyingGroup]:
        rows = self._exec(sa.select(t.buying_groups).where(t.buying_groups.c.account == account)
                          .order_by(t.buying_groups.c.seq))
        return [self._group(r) for r in rows]

    def all_buying_groups(self) -> list[BuyingGroup]:
        rows = self._exec(sa.select(t.buying_groups).order_by(t.buying_groups.c.seq))
        return [self._group(r) for r in rows]

    def save_buying_group(self, group: BuyingGroup) -> None:
        if not group.seq:
            group.seq = self.next_value("seq:buying_group")
        self._upsert(t.buying_groups, {
            "account": group.account, "solution": group.solution, "seq": group.seq,
            "template": group.template, "status": group.status,
            "members": [{"person": m.person, "role": m.role} for m in group.members],
            "engagement_score": group.engagement_score,
            "completeness_score": group.completeness_score})

    def segments_of(self, account: str) -> set[str]:
        return set(self._exec(sa.select(t.segment_members.c.segment)
                              .where(t.segment_members.c.account == account)).scalars())

    def set_membership(self, account: str, segment: str, member: bool) -> None:
        if member:
            self._upsert(t.segment_members, {"segment": segment, "account": account})
        else:
            self._write("delete:segment_members", {"k_segment": segment, "k_account": account})

    def fill_segment(self, segment: str, condition: Any, accounts: Sequence[str]) -> None:
        """Add to ``segment`` every account of ``accounts`` matching ``condition`` (compiled
        to SQL over the accounts table), in one statement per chunk."""
        for start in range(0, len(accounts), 5000):
            chunk = list(accounts[start:start + 5000])
            query = sa.select(sa.literal(segment), t.accounts.c.id).where(
                t.accounts.c.id.in_(chunk), condition)
            self._exec(sa.insert(t.segment_members).from_select(["segment", "account"], query))

    def memberships(self, accounts: Sequence[str]) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {a: set() for a in accounts}
        for start in range(0, len(accounts), 5000):
            chunk = list(accounts[start:start + 5000])
            rows = self._exec(sa.select(t.segment_members).where(
                t.segment_members.c.account.in_(chunk)))
            for row in rows:
                found[row.account].add(row.segment)
        return found

    def segment_members(self, segment: str) -> list[str]:
        return list(self._exec(sa.select(t.segment_members.c.account)
                               .where(t.segment_members.c.segment == segment)
                               .order_by(t.segment_members.c.account)).scalars())

    def has_event(self, id: str) -> bool:
        if id in self._pending_events:
            return True
        if self._event_ids is not None:
            return id in self._event_ids
        # Pending writes cannot make an event known (pending events are checked above).
        query = sa.select(t.events.c.id).where(t.events.c.id == id)
        return self._exec(query, flush=False).first() is not None

    def add_event(self, event: Event) -> None:
        event.seq = self.next_value("seq:event")
        self._pending_events.add(event.id)
        if self._event_ids is not None:
            self._event_ids.add(event.id)
        self._write("insert:events", {
            "id": event.id, "seq": event.seq, "type": event.type, "account": event.account,
            "person": event.person, "at": event.at, "properties": event.properties})

    def events_of(self, account: str, type: str | None = None) -> list[Event]:
        """Events of the account and of its people (of one type, or all), in arrival order."""
        people = sa.select(t.people.c.id).where(t.people.c.account == account)
        query = sa.select(t.events).where(
            sa.or_(t.events.c.account == account, t.events.c.person.in_(people)))
        if type is not None:
            query = query.where(t.events.c.type == type)
        rows = self._exec(query.order_by(t.events.c.seq))
        return [Event(id=r.id, type=r.type, at=_at(r.at), account=r.account, person=r.person,
                      properties=dict(r.properties), seq=r.seq) for r in rows]

    def csm_loads(self, pool: Sequence[str]) -> dict[str, int]:
        count = sa.func.count().label("n")
        rows = self._exec(sa.select(t.accounts.c.csm, count)
                          .where(t.accounts.c.csm.in_(list(pool))).group_by(t.accounts.c.csm))
        loads = dict.fromkeys(pool, 0)
        loads.update({row.csm: int(row.n) for row in rows})
        return loads

    def load_accounts(self, ids: Sequence[str]) -> AccountRecords:
        """Accounts with their people, buying groups, segments and active enrollments, for
        many accounts in a few queries (``ids`` in chunks)."""
        records = AccountRecords()
        accounts, people, groups, segments, enrollments = _load_queries(self.dialect)
        self._flush()
        for start in range(0, len(ids), 500):
            chunk: dict[str, Any] = {"ids": list(ids[start:start + 500])}
            if self.dialect != "postgresql":
                chunk["ids"] = _json_text(chunk["ids"])
            for row in self.conn.execute(accounts, chunk):
                records.accounts[row.id] = self._account(row)
            for row in self.conn.execute(people, chunk):
                records.people.setdefault(row.account, []).append(self._person(row))
            for row in self.conn.execute(groups, chunk):
                records.groups.setdefault(row.account, []).append(self._group(row))
            for row in self.conn.execute(segments, chunk):
                records.segments.setdefault(row.account, set()).add(row.segment)
            for row in self.conn.execute(enrollments, chunk):
                records.enrollments.setdefault(row.account, []).append(self._enrollment(row))
        return records

    # -- enrollments ------------------------------------------------------------------------
    @staticmethod
    def _enrollment(row: Any) -> Enrollment:
        state = row.state
        return Enrollment(
            id=row.id, journey=row.journey, version=row.version, account=row.account,
            enrolled_at=_at(row.enrolled_at), status=row.status, goal_achieved=row.goal_achieved,
            goal_at=_utc(row.goal_at), ended_at=_utc(row.ended_at), reason=row.reason,
            path=list(row.path), variants=dict(row.variants),
            tokens=[Token(id=k["id"], node=k["node"], people=list(k["people"]),
                          forks=list(k["forks"]), state=k["state"], timer=k.get("timer"),
                          since=_utc(datetime.fromisoformat(k["since"])) if k.get("since") else None)
                    for k in state.get("tokens", [])],
            next_token=state.get("next_token", 1), next_fork=state.get("next_fork", 1),
            event=state.get("event"),
        )

    def save_enrollment(self, enrollment: Enrollment) -> None:
        state = {
            "tokens": [{"id": k.id, "node": k.node, "people": k.people, "forks": k.forks,
                        "state": k.state, "timer": k.timer,
                        "since": k.since.isoformat() if k.since else None}
                       for k in enrollment.tokens],
            "next_token": enrollment.next_token, "next_fork": enrollment.next_fork,
            "event": enrollment.event,
        }
        self._upsert(t.enrollments, {
            "id": enrollment.id, "journey": enrollment.journey, "version": enrollment.version,
            "account": enrollment.account, "status": enrollment.status,
            "goal_achieved": enrollment.goal_achieved, "goal_at": enrollment.goal_at,
            "enrolled_at": enrollment.enrolled_at, "ended_at": enrollment.ended_at,
            "reason": enrollment.reason, "path": enrollment.path,
            "variants": enrollment.variants, "state": state})

    def enrollment(self, id: int) -> Enrollment | None:
        row = self._exec(sa.select(t.enrollments).where(t.enrollments.c.id == id)).first()
        return None if row is None else self._enrollment(row)

    def active_enrollments(self, account: str) -> list[Enrollment]:
        rows = self._exec(sa.select(t.enrollments).where(
            t.enrollments.c.account == account, t.enrollments.c.status == "active")
            .order_by(t.enrollments.c.id))
        return [self._enrollment(r) for r in rows]

    def active_enrollments_of_journey(self, journey: str) -> list[Enrollment]:
        rows = self._exec(sa.select(t.enrollments).where(
            t.enrollments.c.journey == journey, t.enrollments.c.status == "active")
            .order_by(t.enrollments.c.id))
        return [self._enrollment(r) for r in rows]

    def last_enrollment(self, journey: str, account: str) -> Enrollment | None:
        row = self._exec(sa.select(t.enrollments).where(
            t.enrollments.c.journey == journey, t.enrollments.c.account == account)
            .order_by(t.enrollments.c.id.desc()).limit(1)).first()
        return None if row is None else self._enrollment(row)

    def enrollments(self) -> Iterator[Enrollment]:
        for row in self._exec(sa.select(t.enrollments).order_by(t.enrollments.c.id)):
            yield self._enrollment(row)

    # -- timers ---------------------------------------------------------------------------
    @staticmethod
    def _timer(row: Any) -> Timer:
        return Timer(id=row.id, due_at=_at(row.due_at), kind=row.kind, account=row.account,
                     enrollment=row.enrollment, token=row.token, journey=row.journey,
                     held=row.held, payload=dict(row.payload))

    def _timer_index(self) -> TimerIndex | None:
        if self._timers is not None and not self._timers.loaded:
            rows = self._exec(sa.select(t.timers).order_by(t.timers.c.id))
            self._timers.load([self._timer(r) for r in rows])
        return self._timers

    def scope_timers(self, accounts: Collection[str]) -> None:
        """Keep the timers of ``accounts`` in memory until the transaction ends.

        For a shared store whose transaction holds these accounts (``runtime.partition``): no
        one else changes their timers meanwhile, so questions about them are answered as an
        exclusive store answers all, without a query per timer. An exclusive store has every
        timer in memory already."""
        if self._timers is not None or not accounts:
            return
        ids = list(accounts)
        found: list[Timer] = []
        self._flush()
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            found += [self._timer(r) for r in self.conn.execute(
                _timers_of_query(self.dialect),
                {"ids": chunk if self.dialect == "postgresql" else _json_text(chunk)})]
        index = TimerIndex()
        index.load(found)
        self._scoped, self._scope = index, frozenset(ids)

    def add_timer(self, timer: Timer) -> None:
        timer.id = self.next_value("seq:timer")
        index = self._timer_index()
        self._write("insert:timers", {
            "id": timer.id, "due_at": timer.due_at, "kind": timer.kind, "account": timer.account,
            "enrollment": timer.enrollment, "token": timer.token, "journey": timer.journey,
            "held": timer.held, "payload": timer.payload})
        if index is not None:
            index.add(timer)
        elif self._scoped is not None and timer.account in self._scope:
            self._scoped.add(timer)

    def delete_timers(self, *, enrollment: int | None = None, account: str | None = None,
                      kind: str | None = None, ids: Iterable[int] = ()) -> None:
        ids = list(ids)
        if enrollment is None and account is None and kind is None and not ids:
            raise StoreError("delete_timers needs a filter")
        index = self._timer_index()
        if index is None and self._scoped is not None and (
                account in self._scope or (ids and all(id in self._scoped for id in ids))):
            index = self._scoped
        if index is not None:
            for id in index.matching(enrollment, account, kind, ids):
                index.remove(id)
                self._write("delete:timers", {"k_id": id})
            return
        if self._scoped is not None:  # some outside the scope: the table decides, and the
            for id in self._scoped.matching(enrollment, account, kind, ids):  # scope follows
                self._scoped.remove(id)
        conditions: list[Any] = []
        if enrollment is not None:
            conditions.append(t.timers.c.enrollment == enrollment)
        if account is not None:
            conditions.append(t.timers.c.account == account)
        if kind is not None:
            conditions.append(t.timers.c.kind == kind)
        if ids:
            conditions.append(t.timers.c.id.in_(ids))
        self._exec(sa.delete(t.timers).where(*conditions))

    def timers_of(self, account: str, kind: str) -> list[Timer]:
        """The account's timers of ``kind``, in the order they were set."""
        index = self._timer_index()
        if index is None and self._scoped is not None and account in self._scope:
            index = self._scoped
        if index is not None:
            return [index.get(id) for id in index.matching(None, account, kind, [])]
        rows = self._exec(sa.select(t.timers).where(t.timers.c.account == account,
                                                    t.timers.c.kind == kind)
                          .order_by(t.timers.c.id))
        return [self._timer(r) for r in rows]

    def due_timers(self, until: datetime, limit: int,
                   accounts: Collection[str] | None = None) -> list[Timer]:
        """Timers not held, due at or before ``until``, in (due, set) order; with ``accounts``,
        only theirs (a worker fires the timers of the accounts it holds)."""
        index = self._timer_index()
        if index is not None and accounts is None:
            return index.due(until, limit)
        if (self._scoped is not None and accounts is not None and len(accounts) == len(self._scope)
                and self._scope.issuperset(accounts)):
            return self._scoped.due(until, limit)
        query = sa.select(t.timers).where(t.timers.c.due_at <= until, t.timers.c.held.is_(False))
        if accounts is not None:
            if not accounts:
                return []
            query = query.where(t.timers.c.account.in_(list(accounts)))
        rows = self._exec(query.order_by(t.timers.c.due_at, t.timers.c.id).limit(limit))
        return [self._timer(r) for r in rows]

    def hold_timer(self, id: int) -> None:
        index = self._timer_index()
        if index is not None:
            index.hold(id)
        elif self._scoped is not None:
            self._scoped.hold(id)
        self._write("update:timers", {"k_id": id, "held": True})

    def held_timers(self, journey: str) -> list[Timer]:
        index = self._timer_index()
        if index is not None:
            return index.held(journey)
        rows = self._exec(sa.select(t.timers).where(
            t.timers.c.journey == journey, t.timers.c.held.is_(True))
            .order_by(t.timers.c.due_at, t.timers.c.id))
        return [self._timer(r) for r in rows]

    def next_due(self) -> datetime | None:
        index = self._timer_index()
        if index is not None:
            return index.next_due()
        value = self._exec(sa.select(sa.func.min(t.timers.c.due_at))
                           .where(t.timers.c.held.is_(False))).scalar()
        return _utc(value)

    # -- effects and history ----------------------------------------------------------------
    def add_effect(self, effect: Effect) -> None:
        """Record an effect; a second effect with a known idempotency key is ignored."""
        effect.id = self.next_value("seq:effect")
        self._write("ignore:effects", {
            "id": effect.id, "key": effect.key, "channel": effect.channel,
            "status": effect.status, "journey": effect.journey, "node": effect.node,
            "account": effect.account, "person": effect.person, "at": effect.at,
            "payload": effect.payload, "attempts": 0,
            "next_attempt_at": effect.at if effect.status == "pending" else None,
            "last_error": None, "delivered_at": None})

    def deliveries_since(self, person: str, channel: str, since: datetime) -> int:
        """How many effects of ``channel`` went (or are going) to ``person`` after ``since``;
        skipped ones do not count. For frequency caps."""
        query = sa.select(sa.func.count()).select_from(t.effects).where(
            t.effects.c.person == person, t.effects.c.channel == channel,
            t.effects.c.at > since, t.effects.c.status != "skipped")
        return int(self._exec(query).scalar() or 0)

    def effects(self) -> list[Effect]:
        rows = self._exec(sa.select(t.effects).order_by(t.effects.c.id))
        return [Effect(key=r.key, channel=r.channel, status=r.status, at=_at(r.at),
                       journey=r.journey, node=r.node, account=r.account, person=r.person,
                       payload=dict(r.payload), id=r.id) for r in rows]

    def add_history(self, enrollment: int, at: datetime, node: str | None,
                    entry: dict[str, Any]) -> None:
        self._write("insert:history", {
            "id": self.next_value("seq:history"), "enrollment": enrollment, "at": at,
            "node": node, "entry": entry})

    def history(self, enrollment: int) -> list[dict[str, Any]]:
        rows = self._exec(sa.select(t.history).where(t.history.c.enrollment == enrollment)
                          .order_by(t.history.c.id))
        return [{"at": _at(r.at), "node": r.node, **r.entry} for r in rows]
