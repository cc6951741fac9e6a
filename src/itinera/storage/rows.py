"""Rows of the world's tables as domain records: the one mapping, shared by the store
(``SqlStore``) and the read views (``storage.views``, ``storage.queries``); and the one query
of an account's events they share (``account_events``).

SQLite returns instants naive; they are UTC.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import sqlalchemy as sa

from itinera.domain.model import Account, BuyingGroup, Member, Person
from itinera.storage import schema as t
from itinera.timeutil import as_utc

__all__ = ["account_events", "account_from_row", "group_from_row", "history_entries",
           "person_from_row"]


@lru_cache(maxsize=2)
def account_events(typed: bool) -> sa.Subquery:
    """The events of the account bound as ``:account`` and of its people (of the type bound as
    ``:type`` when ``typed``), with the events' columns: those whose account it is, and
    (``UNION ALL``) those of its people whose account is another or none, so none twice. Each
    half reads through its own index (``ix_events_account_type``; ``ix_people_account`` then
    ``ix_events_person_type``): one ``OR`` of the two made PostgreSQL read every event."""
    e, p = t.events, t.people
    account = sa.bindparam("account", type_=sa.String)
    own = sa.select(e).where(e.c.account == account)
    theirs = (sa.select(e).select_from(e.join(p, p.c.id == e.c.person))
              .where(p.c.account == account,
                     sa.or_(e.c.account.is_(None), e.c.account != account)))
    if typed:
        own = own.where(e.c.type == sa.bindparam("type", type_=sa.String))
        theirs = theirs.where(e.c.type == sa.bindparam("type", type_=sa.String))
    return sa.union_all(own, theirs).subquery("account_events")


def account_from_row(row: Any) -> Account:
    return Account(id=row.id, attributes=dict(row.attributes), created_at=as_utc(row.created_at),
                   csm=row.csm, playbooks=list(row.playbooks), moments=list(row.moments), seq=row.seq)


def person_from_row(row: Any) -> Person:
    return Person(id=row.id, account=row.account, email=row.email, attributes=dict(row.attributes),
                  score=row.score, unsubscribed=row.unsubscribed, seq=row.seq)


def group_from_row(row: Any) -> BuyingGroup:
    return BuyingGroup(account=row.account, solution=row.solution, template=row.template,
                       status=row.status, members=[Member(m["person"], m["role"]) for m in row.members],
                       engagement_score=row.engagement_score,
                       completeness_score=row.completeness_score, seq=row.seq)


def history_entries(row: Any) -> list[tuple[str | None, dict[str, Any]]]:
    """The (node, entry) pairs of one history row, in the order they were recorded.

    A row holds one entry; or, when an enrollment recorded several at one instant (a wait
    over, the node after it, ...), all of them as a list of ``[node, entry]``: one row
    written instead of several (see ``SqlStore.add_history``)."""
    if isinstance(row.entry, list):
        return [(node, entry) for node, entry in row.entry]
    return [(row.node, row.entry)]
