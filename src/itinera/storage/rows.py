"""Rows of the world's tables as domain records: the one mapping, shared by the store
(``SqlStore``) and the read views (``storage.views``, ``storage.queries``).

SQLite returns instants naive; they are UTC.
"""

from __future__ import annotations

from typing import Any

from itinera.domain.model import Account, BuyingGroup, Member, Person
from itinera.timeutil import as_utc

__all__ = ["account_from_row", "group_from_row", "history_entries", "person_from_row"]


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
