"""The SQL store's hot reads, each statement built once per dialect with its values bound as
parameters: building a statement and computing its cache key cost more than running it (a
worker's step reads an account's records in a few of these).

``load_accounts`` reads many accounts' records in three queries: their people (also the
accounts of people named by id: an event that names only a person), the accounts with their
segments and buying groups (aggregated per account in the same row), their enrollments.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import sqlalchemy as sa

from itinera.domain.model import Account, BuyingGroup, Enrollment, Member, Person
from itinera.storage import schema as t
from itinera.storage.engine import json_text
from itinera.storage.rows import account_events
from itinera.storage.sql_base import among
from itinera.storage.store import AccountRecords

__all__ = ["Reads", "load_accounts", "reads"]

_CHUNK = 500  # accounts (and people) per query of load_accounts


@dataclass(frozen=True)
class Reads:
    """One dialect's statements (parameters named in each)."""

    account: sa.Select[Any]  # :id
    person: sa.Select[Any]  # :id
    people_of: sa.Select[Any]  # :account
    groups_of: sa.Select[Any]  # :account
    segments_of: sa.Select[Any]  # :account
    active_enrollments: sa.Select[Any]  # :account
    last_enrollment: sa.Select[Any]  # :journey, :account
    has_event: sa.Select[Any]  # :id
    known_events: sa.Select[Any]  # :ids
    events_of: sa.Select[Any]  # :account
    events_of_type: sa.Select[Any]  # :account, :type
    load_people: sa.TextualSelect  # :ids, :persons
    load_accounts: sa.Select[Any]  # :ids
    load_enrollments: sa.Select[Any]  # :ids


def _param(name: str) -> sa.BindParameter[str]:
    return sa.bindparam(name, type_=sa.String)


def _load_people(dialect: str) -> sa.TextualSelect:
    """The people of the accounts ``:ids``, of the accounts of the people ``:persons`` and
    those people themselves (who may have no account), in their order. Each branch of the
    ``OR`` is an index lookup (SQLite: a multi-index OR; PostgreSQL: a ``BitmapOr``, the
    persons' accounts an ``ARRAY`` computed once — an ``IN`` subquery would scan the table)."""
    columns = ", ".join(f"people.{c.name}" for c in t.people.c)
    if dialect == "postgresql":
        where = ("people.account = ANY(CAST(:ids AS VARCHAR[])) "
                 "OR people.account = ANY(ARRAY(SELECT known.account FROM people AS known "
                 "WHERE known.id = ANY(CAST(:persons AS VARCHAR[])))) "
                 "OR people.id = ANY(CAST(:persons AS VARCHAR[]))")
    else:
        where = ("people.account IN (SELECT value FROM json_each(:ids)) "
                 "OR people.account IN (SELECT known.account FROM people AS known "
                 "WHERE known.id IN (SELECT value FROM json_each(:persons))) "
                 "OR people.id IN (SELECT value FROM json_each(:persons))")
    return sa.text(f"SELECT {columns} FROM people WHERE {where} ORDER BY people.seq").columns(
        *[sa.column(c.name, c.type) for c in t.people.c])


def _with_segments_and_groups(dialect: str) -> sa.Select[Any]:
    """The accounts ``:ids``, each with its segments and buying groups as JSON arrays."""
    a, s, g = t.accounts, t.segment_members, t.buying_groups
    pg = dialect == "postgresql"
    aggregate = sa.func.json_agg if pg else sa.func.json_group_array
    fields: list[Any] = []
    for column in g.c:
        value = column if pg or column.name != "members" else sa.func.json(column)
        fields += [sa.literal(column.name, sa.String), value]
    group = (sa.func.json_build_object if pg else sa.func.json_object)(*fields)
    segments = sa.select(aggregate(s.c.segment)).where(s.c.account == a.c.id).scalar_subquery()
    groups = sa.select(aggregate(group)).where(g.c.account == a.c.id).scalar_subquery()
    return sa.select(a, sa.type_coerce(segments, t.Json).label("segments_"),
                     sa.type_coerce(groups, t.Json).label("groups_")).where(among(a.c.id, dialect))


@lru_cache(maxsize=2)
def reads(dialect: str) -> Reads:
    e, p = t.enrollments, t.people
    account = _param("account")
    typed, untyped = account_events(True), account_events(False)
    # Active enrollments, and each journey's latest one (for re-enrollment rules), by id from
    # a union of two index-backed reads: an OR of them made PostgreSQL read the whole table.
    latest = (sa.select(sa.func.max(e.c.id)).where(among(e.c.account, dialect))
              .group_by(e.c.account, e.c.journey))
    return Reads(
        account=sa.select(t.accounts).where(t.accounts.c.id == _param("id")),
        person=sa.select(p).where(p.c.id == _param("id")),
        people_of=sa.select(p).where(p.c.account == account).order_by(p.c.seq),
        groups_of=sa.select(t.buying_groups).where(t.buying_groups.c.account == account)
        .order_by(t.buying_groups.c.seq),
        segments_of=sa.select(t.segment_members.c.segment)
        .where(t.segment_members.c.account == account),
        active_enrollments=sa.select(e).where(e.c.account == account, e.c.status == "active")
        .order_by(e.c.id),
        last_enrollment=sa.select(e).where(e.c.journey == _param("journey"), e.c.account == account)
        .order_by(e.c.id.desc()).limit(1),
        has_event=sa.select(t.events.c.id).where(t.events.c.id == _param("id")),
        known_events=sa.select(t.events.c.id).where(among(t.events.c.id, dialect)),
        events_of=sa.select(untyped).order_by(untyped.c.seq),
        events_of_type=sa.select(typed).order_by(typed.c.seq),
        load_people=_load_people(dialect),
        load_accounts=_with_segments_and_groups(dialect),
        load_enrollments=sa.select(e).where(e.c.id.in_(sa.union(
            sa.select(e.c.id).where(among(e.c.account, dialect), e.c.status == "active"),
            latest))).order_by(e.c.id),
    )


def _group(data: dict[str, Any]) -> BuyingGroup:
    return BuyingGroup(account=data["account"], solution=data["solution"],
                       template=data["template"], status=data["status"],
                       members=[Member(m["person"], m["role"]) for m in data["members"]],
                       engagement_score=float(data["engagement_score"]),
                       completeness_score=float(data["completeness_score"]), seq=data["seq"])


def load_accounts(conn: sa.Connection, dialect: str, ids: Sequence[str],
                  people: Sequence[str], make: tuple[Callable[[Any], Account],
                                                     Callable[[Any], Person],
                                                     Callable[[Any], Enrollment]]
                  ) -> AccountRecords:
    """The records of the accounts ``ids`` and of the accounts of the people ``people`` (ids
    of people; those found are also in ``persons``). ``make``: rows to records."""
    account_of, person_of, enrollment_of = make
    q = reads(dialect)
    records = AccountRecords()
    wanted = set(people)
    seen: set[str] = set()  # people placed (a chunk may reach an account placed before)
    queried: set[str] = set()  # accounts whose rows and enrollments were read

    def bound(values: list[str]) -> Any:
        return values if dialect == "postgresql" else json_text(values)

    for start in range(0, max(len(ids), len(people)), _CHUNK):
        chunk = list(ids[start:start + _CHUNK])
        asked = list(people[start:start + _CHUNK])
        accounts = dict.fromkeys(chunk)
        for row in conn.execute(q.load_people, {"ids": bound(chunk), "persons": bound(asked)}):
            if row.id in seen:
                continue
            seen.add(row.id)
            person = person_of(row)
            if person.account is not None:
                records.people.setdefault(person.account, []).append(person)
                accounts.setdefault(person.account)
            if person.id in wanted:
                records.persons[person.id] = person
        fresh = [a for a in accounts if a not in queried]
        queried.update(fresh)
        listed = {"ids": bound(fresh)}
        for row in conn.execute(q.load_accounts, listed):
            records.accounts[row.id] = account_of(row)
            if row.segments_:
                records.segments[row.id] = set(row.segments_)
            groups = sorted((_group(g) for g in row.groups_ or ()), key=lambda g: g.seq)
            if groups:
                records.groups[row.id] = groups
        for row in conn.execute(q.load_enrollments, listed):
            records.enrollments.setdefault(row.account, []).append(enrollment_of(row))
    return records
