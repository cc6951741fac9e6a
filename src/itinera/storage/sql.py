"""``SqlStore``: the Store on SQLAlchemy Core, for SQLite (embedded) and PostgreSQL.

All SQL of the store lives here. The dialects differ only in upsert syntax, JSON storage
(JSONB on PostgreSQL) and how instants come back (SQLite returns naive UTC).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.pool import StaticPool

from itinera.domain.model import Account, BuyingGroup, Enrollment, Event, Member, Person, Token
from itinera.errors import StoreError
from itinera.storage import schema as t
from itinera.storage.store import Effect, Timer

__all__ = ["SqlStore", "create_engine"]


def create_engine(url: str) -> sa.Engine:
    """An engine for ``url``; ``sqlite://`` (memory) shares one connection."""
    if url in ("sqlite://", "sqlite:///:memory:"):
        return sa.create_engine(url, poolclass=StaticPool,
                                connect_args={"check_same_thread": False})
    return sa.create_engine(url)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _at(value: datetime) -> datetime:
    result = _utc(value)
    assert result is not None
    return result


class SqlStore:
    """A store in one SQL database. Not thread-safe: one store per worker thread."""

    def __init__(self, url: str, *, create: bool = True) -> None:
        self.engine = create_engine(url)
        self.dialect = self.engine.dialect.name
        if create:
            self.create_schema()
        self._conn: sa.Connection | None = None

    def create_schema(self) -> None:
        t.metadata.create_all(self.engine)
        try:
            from itinera.conditions import sql as condition_sql
        except ImportError:  # TODO remove once conditions.sql lands
            return
        if self.dialect == "postgresql":
            with self.engine.begin() as connection:
                condition_sql.install_postgres_functions(connection)
        else:
            condition_sql.install_sqlite_functions(self.engine)

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
        with connection.begin():
            yield

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self.engine.dispose()

    def _exec(self, statement: Any) -> sa.CursorResult[Any]:
        return self.conn.execute(statement)

    def _upsert(self, table: sa.Table, values: dict[str, Any]) -> None:
        keys = [c.name for c in table.primary_key.columns]
        dialect_insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        statement = dialect_insert(table).values(**values)
        updates = {k: statement.excluded[k] for k in values if k not in keys}
        self._exec(statement.on_conflict_do_update(index_elements=keys, set_=updates)
                   if updates else statement.on_conflict_do_nothing(index_elements=keys))

    # -- configuration --------------------------------------------------------------------
    def config(self, kind: str) -> list[tuple[str, dict[str, Any]]]:
        rows = self._exec(sa.select(t.config.c.id, t.config.c.body)
                          .where(t.config.c.kind == kind).order_by(t.config.c.seq))
        return [(row.id, row.body) for row in rows]

    def put_config(self, kind: str, id: str, body: dict[str, Any]) -> None:
        existing = self._exec(sa.select(t.config.c.seq).where(
            t.config.c.kind == kind, t.config.c.id == id)).scalar()
        seq = existing if existing is not None else self.next_value("seq:config")
        self._upsert(t.config, {"kind": kind, "id": id, "seq": seq, "body": body})

    def put_journey_version(self, id: str, version: int, definition: dict[str, Any],
                            at: datetime) -> None:
        self._exec(sa.insert(t.journeys).values(id=id, version=version, definition=definition,
                                                published_at=at))

    def journey_versions(self) -> list[tuple[str, int, dict[str, Any]]]:
        rows = self._exec(sa.select(t.journeys.c.id, t.journeys.c.version,
                                    t.journeys.c.definition)
                          .order_by(t.journeys.c.id, t.journeys.c.version))
        return [(r.id, r.version, r.definition) for r in rows]

    def next_value(self, key: str) -> int:
        row = self._exec(sa.update(t.counters).where(t.counters.c.key == key)
                         .values(value=t.counters.c.value + 1)
                         .returning(t.counters.c.value)).first()
        if row is not None:
            return int(row[0])
        self._exec(sa.insert(t.counters).values(key=key, value=1))
        return 1

    # -- accounts, people, groups, segments, events -----------------------------------------
    @staticmethod
    def _account(row: Any) -> Account:
        return Account(id=row.id, attributes=dict(row.attributes), created_at=_at(row.created_at),
                       csm=row.csm, playbooks=list(row.playbooks), moments=list(row.moments),
                       seq=row.seq)

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

    @staticmethod
    def _person(row: Any) -> Person:
        return Person(id=row.id, account=row.account, email=row.email,
                      attributes=dict(row.attributes), score=row.score,
                      unsubscribed=row.unsubscribed, seq=row.seq)

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
        self._exec(sa.delete(t.people).where(t.people.c.id == id))

    @staticmethod
    def _group(row: Any) -> BuyingGroup:
        return BuyingGroup(account=row.account, solution=row.solution, template=row.template,
                           status=row.status,
                           members=[Member(m["person"], m["role"]) for m in row.members],
                           engagement_score=row.engagement_score,
                           completeness_score=row.completeness_score, seq=row.seq)

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
            self._exec(sa.delete(t.segment_members).where(
                t.segment_members.c.segment == segment, t.segment_members.c.account == account))

    def segment_members(self, segment: str) -> list[str]:
        return list(self._exec(sa.select(t.segment_members.c.account)
                               .where(t.segment_members.c.segment == segment)
                               .order_by(t.segment_members.c.account)).scalars())

    def has_event(self, id: str) -> bool:
        return self._exec(sa.select(t.events.c.id).where(t.events.c.id == id)).first() is not None

    def add_event(self, event: Event) -> None:
        event.seq = self.next_value("seq:event")
        self._exec(sa.insert(t.events).values(
            id=event.id, seq=event.seq, type=event.type, account=event.account,
            person=event.person, at=event.at, properties=event.properties))

    def events_of(self, account: str, type: str) -> list[Event]:
        people = sa.select(t.people.c.id).where(t.people.c.account == account)
        rows = self._exec(sa.select(t.events).where(
            t.events.c.type == type,
            sa.or_(t.events.c.account == account, t.events.c.person.in_(people)),
        ).order_by(t.events.c.seq))
        return [Event(id=r.id, type=r.type, at=_at(r.at), account=r.account, person=r.person,
                      properties=dict(r.properties), seq=r.seq) for r in rows]

    def csm_loads(self, pool: Sequence[str]) -> dict[str, int]:
        count = sa.func.count().label("n")
        rows = self._exec(sa.select(t.accounts.c.csm, count)
                          .where(t.accounts.c.csm.in_(list(pool))).group_by(t.accounts.c.csm))
        loads = dict.fromkeys(pool, 0)
        loads.update({row.csm: int(row.n) for row in rows})
        return loads

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

    def add_timer(self, timer: Timer) -> None:
        timer.id = self.next_value("seq:timer")
        self._exec(sa.insert(t.timers).values(
            id=timer.id, due_at=timer.due_at, kind=timer.kind, account=timer.account,
            enrollment=timer.enrollment, token=timer.token, journey=timer.journey,
            held=timer.held, payload=timer.payload))

    def delete_timers(self, *, enrollment: int | None = None, account: str | None = None,
                      kind: str | None = None, ids: Iterable[int] = ()) -> None:
        ids = list(ids)
        conditions: list[Any] = []
        if enrollment is not None:
            conditions.append(t.timers.c.enrollment == enrollment)
        if account is not None:
            conditions.append(t.timers.c.account == account)
        if kind is not None:
            conditions.append(t.timers.c.kind == kind)
        if ids:
            conditions.append(t.timers.c.id.in_(ids))
        if not conditions:
            raise StoreError("delete_timers needs a filter")
        self._exec(sa.delete(t.timers).where(*conditions))

    def due_timers(self, until: datetime, limit: int) -> list[Timer]:
        rows = self._exec(sa.select(t.timers).where(
            t.timers.c.due_at <= until, t.timers.c.held.is_(False))
            .order_by(t.timers.c.due_at, t.timers.c.id).limit(limit))
        return [self._timer(r) for r in rows]

    def hold_timer(self, id: int) -> None:
        self._exec(sa.update(t.timers).where(t.timers.c.id == id).values(held=True))

    def held_timers(self, journey: str) -> list[Timer]:
        rows = self._exec(sa.select(t.timers).where(
            t.timers.c.journey == journey, t.timers.c.held.is_(True))
            .order_by(t.timers.c.due_at, t.timers.c.id))
        return [self._timer(r) for r in rows]

    def next_due(self) -> datetime | None:
        value = self._exec(sa.select(sa.func.min(t.timers.c.due_at))
                           .where(t.timers.c.held.is_(False))).scalar()
        return _utc(value)

    # -- effects and history ----------------------------------------------------------------
    def add_effect(self, effect: Effect) -> bool:
        if self._exec(sa.select(t.effects.c.id).where(t.effects.c.key == effect.key)).first():
            return False
        effect.id = self.next_value("seq:effect")
        self._exec(sa.insert(t.effects).values(
            id=effect.id, key=effect.key, channel=effect.channel, status=effect.status,
            journey=effect.journey, node=effect.node, account=effect.account,
            person=effect.person, at=effect.at, payload=effect.payload))
        return True

    def effects(self) -> list[Effect]:
        rows = self._exec(sa.select(t.effects).order_by(t.effects.c.id))
        return [Effect(key=r.key, channel=r.channel, status=r.status, at=_at(r.at),
                       journey=r.journey, node=r.node, account=r.account, person=r.person,
                       payload=dict(r.payload), id=r.id) for r in rows]

    def add_history(self, enrollment: int, at: datetime, node: str | None,
                    entry: dict[str, Any]) -> None:
        self._exec(sa.insert(t.history).values(
            id=self.next_value("seq:history"), enrollment=enrollment, at=at, node=node,
            entry=entry))

    def history(self, enrollment: int) -> list[dict[str, Any]]:
        rows = self._exec(sa.select(t.history).where(t.history.c.enrollment == enrollment)
                          .order_by(t.history.c.id))
        return [{"at": _at(r.at), "node": r.node, **r.entry} for r in rows]
