"""The studio's drafts and the published journey versions' history, as rows.

A draft is the text of one journey, segment or template being edited; it never runs. Every
change raises its ``revision``: a write names the revision it read and fails with
:class:`StaleRevision` when another write came first (optimistic concurrency: two people in two
tabs do not silently overwrite each other). Functions take the caller's connection, so a
caller's writes (a publish's input and the draft's removal) are one transaction.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from itinera.errors import StoreError
from itinera.storage import schema as t
from itinera.timeutil import format_instant

__all__ = [
    "DRAFT_KINDS",
    "MAX_DRAFTS",
    "DraftRow",
    "StaleRevision",
    "TooManyDrafts",
    "create_draft",
    "delete_draft",
    "get_draft",
    "journey_version",
    "journey_versions",
    "list_drafts",
    "update_draft",
]

DRAFT_KINDS = ("journey", "segment", "template")
MAX_DRAFTS = 10_000  # a store's drafts at once: each may hold up to 2 MiB of text


class StaleRevision(StoreError):
    """The draft changed since the revision the write names; ``current`` is its revision now."""

    def __init__(self, draft: str, current: int) -> None:
        super().__init__(f"draft {draft!r} is at revision {current}: reload it and edit again")
        self.current = current


class TooManyDrafts(StoreError):
    """The store holds :data:`MAX_DRAFTS` drafts already."""


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return format_instant(value.replace(tzinfo=UTC) if value.tzinfo is None else value)


@dataclass(frozen=True)
class DraftRow:
    id: str
    kind: str
    object_id: str | None
    text: str
    base_version: int | None
    revision: int
    created_at: str | None
    created_by: str
    updated_at: str | None
    updated_by: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _row(r: Any) -> DraftRow:
    return DraftRow(r.id, r.kind, r.object_id, r.text, r.base_version, r.revision,
                    _iso(r.created_at), r.created_by, _iso(r.updated_at), r.updated_by)


def create_draft(conn: sa.Connection, *, kind: str, object_id: str | None, text: str,
                 base_version: int | None, by: str, now: datetime) -> DraftRow:
    """A new draft at revision 1."""
    if kind not in DRAFT_KINDS:
        raise ValueError(f"a draft's kind is one of {', '.join(DRAFT_KINDS)}, not {kind!r}")
    count = conn.execute(sa.select(sa.func.count()).select_from(t.drafts)).scalar() or 0
    if count >= MAX_DRAFTS:
        raise TooManyDrafts(f"the store holds {MAX_DRAFTS:,} drafts: publish or delete some")
    draft_id = f"d_{secrets.token_hex(8)}"
    conn.execute(sa.insert(t.drafts).values(
        id=draft_id, kind=kind, object_id=object_id, text=text, base_version=base_version,
        revision=1, created_at=now, created_by=by, updated_at=now, updated_by=by))
    found = get_draft(conn, draft_id)
    assert found is not None
    return found


def get_draft(conn: sa.Connection, draft_id: str) -> DraftRow | None:
    row = conn.execute(sa.select(t.drafts).where(t.drafts.c.id == draft_id)).first()
    return None if row is None else _row(row)


def list_drafts(conn: sa.Connection, kind: str | None = None) -> list[DraftRow]:
    """Every draft (of ``kind``), the latest changed first."""
    query = sa.select(t.drafts).order_by(t.drafts.c.updated_at.desc(), t.drafts.c.id)
    if kind is not None:
        query = query.where(t.drafts.c.kind == kind)
    return [_row(r) for r in conn.execute(query)]


def update_draft(conn: sa.Connection, draft_id: str, *, revision: int, text: str,
                 object_id: str | None, by: str, now: datetime) -> DraftRow | None:
    """The draft with its new text at the next revision; None when there is no such draft,
    :class:`StaleRevision` when it is no longer at ``revision``."""
    done = conn.execute(sa.update(t.drafts).where(
        t.drafts.c.id == draft_id, t.drafts.c.revision == revision).values(
        text=text, object_id=object_id, revision=revision + 1, updated_at=now, updated_by=by))
    if done.rowcount == 0:
        current = get_draft(conn, draft_id)
        if current is None:
            return None
        raise StaleRevision(draft_id, current.revision)
    return get_draft(conn, draft_id)


def delete_draft(conn: sa.Connection, draft_id: str, revision: int | None = None) -> bool:
    """Remove a draft (at ``revision``, when given: :class:`StaleRevision` otherwise);
    whether there was one."""
    query = sa.delete(t.drafts).where(t.drafts.c.id == draft_id)
    if revision is not None:
        query = query.where(t.drafts.c.revision == revision)
    if conn.execute(query).rowcount:
        return True
    current = get_draft(conn, draft_id)
    if current is not None:
        raise StaleRevision(draft_id, current.revision)
    return False


# -- published versions ------------------------------------------------------------------------
def journey_versions(conn: sa.Connection, journey_id: str) -> list[dict[str, Any]]:
    """A journey's versions, oldest first: ``{version, published_at, published_by}``
    (``published_by`` is null for versions published before it was recorded)."""
    rows = conn.execute(sa.select(t.journeys.c.version, t.journeys.c.published_at,
                                  t.journeys.c.published_by)
                        .where(t.journeys.c.id == journey_id).order_by(t.journeys.c.version))
    return [{"version": r.version, "published_at": _iso(r.published_at),
             "published_by": r.published_by} for r in rows]


def journey_version(conn: sa.Connection, journey_id: str, version: int) -> dict[str, Any] | None:
    """One version with its definition and the text it was published from (null if none)."""
    row = conn.execute(sa.select(t.journeys).where(
        t.journeys.c.id == journey_id, t.journeys.c.version == version)).first()
    if row is None:
        return None
    return {"id": journey_id, "version": row.version, "published_at": _iso(row.published_at),
            "published_by": row.published_by, "definition": row.definition,
            "source": row.source}
