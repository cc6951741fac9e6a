"""``SqlStore``: the Store on SQLAlchemy Core, for SQLite (embedded) and PostgreSQL.

The store's SQL lives in three modules: this one (configuration, accounts and what hangs off
them, enrollments, effects, history), ``sql_timers`` (timers) and ``sql_base`` (connection,
transactions, buffered writes, counters). The dialects differ only in upsert syntax, JSON
storage (JSONB on PostgreSQL) and how instants come back (SQLite returns naive UTC).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from itinera.conditions import Condition
from itinera.conditions.sql import Tables, select_accounts
from itinera.domain.model import Account, BuyingGroup, Enrollment, Event, Person, Token
from itinera.storage import schema as t
from itinera.storage.engine import json_text
from itinera.storage.rows import (
    account_from_row,
    group_from_row,
    history_entries,
    person_from_row,
)
from itinera.storage.sql_reads import load_accounts, reads
from itinera.storage.sql_timers import TimerRows
from itinera.storage.store import AccountRecords, Effect
from itinera.timeutil import as_utc

__all__ = ["CONDITION_TABLES", "SqlStore"]


# What conditions read, for the condition compiler (which imports nothing of the store).
CONDITION_TABLES = Tables(accounts=t.accounts, people=t.people, events=t.events,
                          buying_groups=t.buying_groups, segment_members=t.segment_members)


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


_at = as_utc


def _seldom(enrollment: Enrollment) -> tuple[Any, ...]:
    """What an enrollment's row holds of the fields that seldom change (version — a move —,
    status, goal, end, reason, variants — copied, a variant may be set in place): a save
    compares the snapshot taken when the row was read or written, and writes only path and
    state when it matches."""
    return (enrollment.version, enrollment.status, enrollment.goal_achieved, enrollment.goal_at,
            enrollment.ended_at, enrollment.reason, dict(enrollment.variants))


class SqlStore(TimerRows):
    """A store in one SQL database. Not thread-safe: one store per worker thread."""

    # -- configuration --------------------------------------------------------------------
    def config(self, kind: str) -> list[tuple[str, dict[str, Any]]]:
        rows = self._exec(sa.select(t.config.c.id, t.config.c.body)
                          .where(t.config.c.kind == kind).order_by(t.config.c.seq))
        return [(row.id, row.body) for row in rows]

    def config_version(self) -> int:
        """Goes up with every change of configuration (workspace, journey versions, lifecycle);
        a worker reloads its workspace when it moved."""
        return self.counter("config:version")

    def put_config(self, kind: str, id: str, body: dict[str, Any]) -> None:
        self._increment("config:version", 1)
        existing = self._exec(sa.select(t.config.c.seq).where(
            t.config.c.kind == kind, t.config.c.id == id)).scalar()
        seq = existing if existing is not None else self.next_value("seq:config")
        self._upsert(t.config, {"kind": kind, "id": id, "seq": seq, "body": body})

    def put_journey_version(self, id: str, version: int, definition: dict[str, Any],
                            at: datetime, source: str | None = None,
                            published_by: str | None = None) -> None:
        self._increment("config:version", 1)
        self._exec(sa.insert(t.journeys).values(id=id, version=version, definition=definition,
                                                published_at=at, source=source,
                                                published_by=published_by))

    def journey_versions(self) -> list[tuple[str, int, dict[str, Any]]]:
        rows = self._exec(sa.select(t.journeys.c.id, t.journeys.c.version,
                                    t.journeys.c.definition)
                          .order_by(t.journeys.c.id, t.journeys.c.version))
        return [(r.id, r.version, r.definition) for r in rows]

    def approved_contents(self, kind: str) -> set[tuple[str, str]]:
        """(object id, content hash) of the approved reviews of ``kind`` (approval workflow)."""
        rows = self._exec(sa.select(t.reviews.c.object_id, t.reviews.c.content_hash).where(
            t.reviews.c.kind == kind, t.reviews.c.state == "approved"))
        return {(r.object_id, r.content_hash) for r in rows}

    # -- accounts, people, groups, segments, events -----------------------------------------
    _account = staticmethod(account_from_row)

    def account(self, id: str) -> Account | None:
        row = self._exec(reads(self.dialect).account, {"id": id}).first()
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
        row = self._exec(reads(self.dialect).person, {"id": id}).first()
        return None if row is None else self._person(row)

    def people_of(self, account: str) -> list[Person]:
        rows = self._exec(reads(self.dialect).people_of, {"account": account})
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
        rows = self._exec(reads(self.dialect).groups_of, {"account": account})
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
        return set(self._exec(reads(self.dialect).segments_of, {"account": account}).scalars())

    def set_membership(self, account: str, segment: str, member: bool) -> None:
        if member:
            self._upsert(t.segment_members, {"segment": segment, "account": account})
        else:
            self._write("delete:segment_members", {"k_segment": segment, "k_account": account})

    def fill_segment(self, segment: str, condition: Condition, now: datetime,
                     accounts: Sequence[str]) -> None:
        """Add to ``segment`` every account of ``accounts`` (ids of stored accounts) for which
        ``condition`` holds at ``now``: one ``INSERT … SELECT`` (``conditions.sql``: each table
        read once, set-wise). When they are all the stored accounts (loading a world into an
        empty store) no list is bound; otherwise the ids are one parameter, joined as a set
        (in chunks, each chunk would read the tables again)."""
        ids = list(dict.fromkeys(accounts))
        if not ids:
            return
        query = (select_accounts(condition, now, self.dialect, CONDITION_TABLES)
                 .add_columns(sa.literal(segment, sa.String)))
        params: dict[str, Any] = {}
        stored = self._exec(sa.select(sa.func.count()).select_from(t.accounts)).scalar_one()
        if len(ids) < stored:
            if self.dialect == "postgresql":  # a semi-join: "= ANY" tests the array per row
                listed: Any = sa.select(sa.func.unnest(
                    sa.bindparam("ids", type_=postgresql.ARRAY(sa.String))))
                params["ids"] = ids
            else:
                listed = sa.select(sa.column("value", sa.String)).select_from(
                    sa.func.json_each(sa.bindparam("ids", type_=sa.String)))
                params["ids"] = json_text(ids)
            query = query.where(t.accounts.c.id.in_(listed))
        self.conn.execute(sa.insert(t.segment_members).from_select(["account", "segment"], query),
                          params)

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
        found = self._events_found.get(id)
        if found is not None:
            return found
        # Pending writes cannot make an event known (pending events are checked above).
        return self._exec(reads(self.dialect).has_event, {"id": id}, flush=False).first() is not None

    def check_events(self, ids: Sequence[str]) -> None:
        """Ask about many event ids at once: ``has_event`` then answers those from memory
        until the transaction ends (a worker's round, before applying its inputs)."""
        asked = [i for i in dict.fromkeys(ids) if i not in self._events_found]
        if self._event_ids is not None or not asked:
            return
        known = set(self._exec(reads(self.dialect).known_events, {
            "ids": asked if self.dialect == "postgresql" else json_text(asked)},
            flush=False).scalars())
        self.note_events({i: i in known for i in asked})

    def add_event(self, event: Event) -> None:
        event.seq = self.next_value("seq:event")
        self._pending_events.add(event.id)
        if self._events_found:
            self._events_found[event.id] = True
        if self._event_ids is not None:
            self._event_ids.add(event.id)
        self._write("insert:events", {
            "id": event.id, "seq": event.seq, "type": event.type, "account": event.account,
            "person": event.person, "at": event.at, "properties": event.properties})

    def events_of(self, account: str, type: str | None = None) -> list[Event]:
        """Events of the account and of its people (of one type, or all), in arrival order."""
        q = reads(self.dialect)
        query, params = ((q.events_of, {"account": account}) if type is None
                         else (q.events_of_type, {"account": account, "type": type}))
        rows = self._exec(query, params)
        return [Event(id=r.id, type=r.type, at=_at(r.at), account=r.account, person=r.person,
                      properties=dict(r.properties), seq=r.seq) for r in rows]

    def csm_loads(self, pool: Sequence[str]) -> dict[str, int]:
        count = sa.func.count().label("n")
        rows = self._exec(sa.select(t.accounts.c.csm, count)
                          .where(t.accounts.c.csm.in_(list(pool))).group_by(t.accounts.c.csm))
        loads = dict.fromkeys(pool, 0)
        loads.update({row.csm: int(row.n) for row in rows})
        return loads

    def load_accounts(self, ids: Sequence[str], people: Sequence[str] = ()) -> AccountRecords:
        """Accounts with their people, buying groups, segments and active enrollments (and
        each journey's latest), for many accounts in a few queries; ``people``: ids of people
        whose accounts to load too (found ones are also in ``persons``)."""
        self._flush()
        return load_accounts(self.conn, self.dialect, ids, people,
                             (self._account, self._person, self._enrollment))

    # -- enrollments ------------------------------------------------------------------------
    @staticmethod
    def _enrollment(row: Any) -> Enrollment:
        state = row.state
        enrollment = Enrollment(
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
        enrollment.stored = _seldom(enrollment)
        return enrollment

    def save_enrollment(self, enrollment: Enrollment) -> None:
        state = {
            "tokens": [{"id": k.id, "node": k.node, "people": k.people, "forks": k.forks,
                        "state": k.state, "timer": k.timer,
                        "since": k.since.isoformat() if k.since else None}
                       for k in enrollment.tokens],
            "next_token": enrollment.next_token, "next_fork": enrollment.next_fork,
            "event": enrollment.event,
        }
        seldom = _seldom(enrollment)
        if enrollment.stored == seldom:  # the common save: the paths moved, nothing else
            self._write("update:enrollments", {
                "k_id": enrollment.id, "path": enrollment.path, "state": state})
            return
        # The whole row, as an upsert: a new enrollment, or one that ended, met its goal...
        self._upsert(t.enrollments, {
            "id": enrollment.id, "journey": enrollment.journey, "version": enrollment.version,
            "account": enrollment.account, "status": enrollment.status,
            "goal_achieved": enrollment.goal_achieved, "goal_at": enrollment.goal_at,
            "enrolled_at": enrollment.enrolled_at, "ended_at": enrollment.ended_at,
            "reason": enrollment.reason, "path": enrollment.path,
            "variants": enrollment.variants, "state": state})
        previous, enrollment.stored = enrollment.stored, seldom
        # Not written after all if the transaction rolls back: the next save writes it whole.
        self.on_rollback(lambda: setattr(enrollment, "stored", previous))

    def enrollment(self, id: int) -> Enrollment | None:
        row = self._exec(sa.select(t.enrollments).where(t.enrollments.c.id == id)).first()
        return None if row is None else self._enrollment(row)

    def active_enrollments(self, account: str) -> list[Enrollment]:
        rows = self._exec(reads(self.dialect).active_enrollments, {"account": account})
        return [self._enrollment(r) for r in rows]

    def active_enrollments_of_journey(self, journey: str) -> list[Enrollment]:
        rows = self._exec(sa.select(t.enrollments).where(
            t.enrollments.c.journey == journey, t.enrollments.c.status == "active")
            .order_by(t.enrollments.c.id))
        return [self._enrollment(r) for r in rows]

    def last_enrollment(self, journey: str, account: str) -> Enrollment | None:
        row = self._exec(reads(self.dialect).last_enrollment,
                         {"journey": journey, "account": account}).first()
        return None if row is None else self._enrollment(row)

    def enrollments(self) -> Iterator[Enrollment]:
        for row in self._exec(sa.select(t.enrollments).order_by(t.enrollments.c.id)):
            yield self._enrollment(row)

    # -- effects and history ----------------------------------------------------------------
    def add_effect(self, effect: Effect) -> None:
        """Record an effect; a second effect with a known idempotency key is ignored."""
        effect.id = self.next_value("seq:effect")
        self._write("ignore:effects", {
            "id": effect.id, "key": effect.key, "channel": effect.channel,
            "status": effect.status, "journey": effect.journey, "node": effect.node,
            "account": effect.account, "person": effect.person, "at": effect.at,
            "payload": effect.payload, "attempts": 0,
            "next_attempt_at": effect.at if effect.status == "pending" else None})

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

    # The last history row written, while it waits in the write buffer: (position, values).
    _last_history: tuple[int, dict[str, Any]] | None = None

    def add_history(self, enrollment: int, at: datetime, node: str | None,
                    entry: dict[str, Any]) -> None:
        """Record an entry; one that follows another of the same enrollment and instant still
        in the write buffer (a step records a few: the wait over, the next node's decision...)
        joins that row, which then holds them all in order (``rows.history_entries``)."""
        last = self._last_history
        if last is not None:
            position, row = last
            pending = self._pending
            if (position < len(pending) and pending[position][1] is row
                    and row["enrollment"] == enrollment and row["at"] == at):
                if isinstance(row["entry"], dict):  # its first entry: the row becomes a list
                    row["node"], row["entry"] = None, [[row["node"], row["entry"]]]
                row["entry"].append([node, entry])
                return
        row = {"id": self.next_value("seq:history"), "enrollment": enrollment, "at": at,
               "node": node, "entry": entry}
        pending = self._pending  # (after the id: reserving ids sends the buffer first)
        position = len(pending)
        self._write("insert:history", row)
        # A write that fills the buffer sends it: the row is then no longer there to join.
        self._last_history = (position, row) if self._pending is pending else None

    def history(self, enrollment: int) -> list[dict[str, Any]]:
        rows = self._exec(sa.select(t.history).where(t.history.c.enrollment == enrollment)
                          .order_by(t.history.c.id))
        return [{"at": _at(r.at), "node": node, **entry}
                for r in rows for node, entry in history_entries(r)]
