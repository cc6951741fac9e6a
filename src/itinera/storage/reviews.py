"""The approval workflow's store: reviews of templates and journeys, their state, and the
publish gate.

A review is one content (its sha256, ``domain.approval.content_hash``) submitted by someone,
then approved or rejected with a comment. The state of an object's content is read from the
reviews of that very hash, so changing approved content makes it ``draft`` again. Submitting,
approving and rejecting each write their audit entry in the same transaction, and approving
or rejecting moves the store's configuration version so a running worker reloads which
templates are approved (``engine.setup``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.dialects import postgresql, sqlite

from itinera.definitions._shape import join
from itinera.definitions.models import Journey
from itinera.domain.actor import Actor
from itinera.domain.approval import (
    ApprovalSettings,
    content_hash,
    content_of,
    review_state,
    template_refs,
)
from itinera.errors import Problem
from itinera.storage import audit
from itinera.storage import schema as t
from itinera.timeutil import as_utc, format_instant

__all__ = ["ReviewError", "approved_templates", "current_content", "decide", "list_reviews",
           "normal", "publish_problems", "review", "settings", "state_of", "submit"]

HISTORY = 20  # reviews shown with a state


class ReviewError(Exception):
    """A review action that cannot be done: ``status`` is the HTTP status it answers."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def settings(connection: sa.Connection) -> ApprovalSettings:
    """The workspace's ``approval`` setting as applied."""
    body = connection.execute(sa.select(t.config.c.body).where(
        t.config.c.kind == "approval", t.config.c.id == "settings")).scalar()
    return ApprovalSettings.from_body(body)


def current_content(connection: sa.Connection, kind: str,
                    object_id: str) -> dict[str, Any] | None:
    """The content as stored: a template as applied, a journey's latest version."""
    if kind == "template":
        body = connection.execute(sa.select(t.config.c.body).where(
            t.config.c.kind == "template", t.config.c.id == object_id)).scalar()
        return None if body is None else dict(body)
    if kind == "journey":
        definition = connection.execute(
            sa.select(t.journeys.c.definition).where(t.journeys.c.id == object_id)
            .order_by(t.journeys.c.version.desc()).limit(1)).scalar()
        return None if definition is None else dict(definition)
    raise ReviewError(422, f"kind {kind!r}: template or journey")


def normal(kind: str, document: Mapping[str, Any]) -> Mapping[str, Any]:
    """``document`` in the form the store keeps it: a journey as published (its model with
    defaults, without nulls), so a file's journey and its stored version hash alike."""
    if kind != "journey":
        return document
    try:
        return Journey.model_validate(dict(document)).model_dump(
            mode="json", by_alias=True, exclude_none=True)
    except ValidationError:
        return document  # an invalid journey is never published: its hash matters little


def _hash(kind: str, document: Mapping[str, Any]) -> str:
    return content_hash(kind, normal(kind, document))


def _actor(actor: Actor) -> dict[str, Any]:
    return {"kind": actor.kind, "id": actor.id, "name": actor.name}


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return format_instant(as_utc(value if value.tzinfo else value.replace(tzinfo=UTC)))


def _out(row: sa.Row[Any]) -> dict[str, Any]:
    def who(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
        return None if value is None else {**value, "label": f"{value['kind']}:{value['name']}"}
    return {"id": row.id, "kind": row.kind, "object_id": row.object_id,
            "content_hash": row.content_hash, "content": row.content, "draft_id": row.draft_id,
            "state": row.state, "note": row.note, "submitted_by": who(row.submitted_by),
            "submitted_at": _iso(row.submitted_at), "comment": row.comment,
            "decided_by": who(row.decided_by), "decided_at": _iso(row.decided_at)}


def review(connection: sa.Connection, id: int) -> dict[str, Any] | None:
    row = connection.execute(sa.select(t.reviews).where(t.reviews.c.id == id)).first()
    return None if row is None else _out(row)


def list_reviews(connection: sa.Connection, *, state: str | None = None,
                 kind: str | None = None, object_id: str | None = None, limit: int = 50,
                 after: int | None = None) -> list[dict[str, Any]]:
    """Reviews, newest first (``after``: ids below it)."""
    r = t.reviews.c
    query = sa.select(t.reviews).order_by(r.id.desc()).limit(limit)
    for column, value in ((r.state, state), (r.kind, kind), (r.object_id, object_id)):
        if value is not None:
            query = query.where(column == value)
    if after is not None:
        query = query.where(r.id < after)
    return [_out(row) for row in connection.execute(query)]


def _states(connection: sa.Connection, kind: str, object_id: str, digest: str) -> Iterator[str]:
    r = t.reviews.c
    return iter(connection.execute(sa.select(r.state).where(
        r.kind == kind, r.object_id == object_id, r.content_hash == digest)
        .order_by(r.id)).scalars())


def state_of(connection: sa.Connection, kind: str, object_id: str,
             content: Mapping[str, Any] | None) -> dict[str, Any]:
    """The review state of ``content`` (None: as stored) with the object's latest reviews and
    their comments — what the studio and the template page show."""
    if content is None:
        content = current_content(connection, kind, object_id)
    required = settings(connection).required(kind)
    digest = None if content is None else _hash(kind, content)
    state = review_state(required, _states(connection, kind, object_id, digest)
                         if digest else iter(()))
    return {"kind": kind, "object_id": object_id, "required": required, "state": state,
            "content_hash": digest,
            "reviews": list_reviews(connection, kind=kind, object_id=object_id, limit=HISTORY)}


def submit(connection: sa.Connection, actor: Actor, kind: str, object_id: str,
           content: Mapping[str, Any] | None = None, *, draft_id: str | None = None,
           note: str | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Submit ``content`` (None: the object as stored) for review; pending reviews of other
    content of the same object are superseded. 409 when this content is pending or approved."""
    if content is None:
        content = current_content(connection, kind, object_id)
        if content is None:
            raise ReviewError(404, f"no {kind} {object_id!r}")
    if kind not in ("template", "journey"):
        raise ReviewError(422, f"kind {kind!r}: template or journey")
    digest = _hash(kind, content)
    state = review_state(True, _states(connection, kind, object_id, digest))
    if state in ("pending", "approved"):
        raise ReviewError(409, f"this content of {kind} {object_id!r} is {state} already")
    now = now or datetime.now(UTC)
    r = t.reviews.c
    connection.execute(sa.update(t.reviews).where(
        r.kind == kind, r.object_id == object_id, r.state == "pending").values(state="superseded"))
    id = connection.execute(sa.insert(t.reviews).values(
        kind=kind, object_id=object_id, content_hash=digest, content=content_of(kind, normal(kind, content)),
        draft_id=draft_id, state="pending", note=note, submitted_by=_actor(actor),
        submitted_at=now)).inserted_primary_key[0]  # type: ignore[index]
    audit.record(connection, actor, "submit", (kind, object_id), at=now,
                 after={"review": id, "content_hash": digest, "draft_id": draft_id,
                        "note": note})
    found = review(connection, int(id))
    assert found is not None
    return found


def decide(connection: sa.Connection, actor: Actor, id: int, approve: bool,
           comment: str | None, now: datetime | None = None) -> dict[str, Any]:
    """Approve or reject the pending review ``id`` with ``comment`` (required to reject);
    under ``four_eyes`` nobody decides on their own submission (403)."""
    row = connection.execute(sa.select(t.reviews).where(t.reviews.c.id == id)
                             .with_for_update()).first()
    if row is None:
        raise ReviewError(404, f"no review {id}")
    if row.state != "pending":
        raise ReviewError(409, f"review {id} is {row.state}: only a pending review is decided")
    if not approve and not (comment or "").strip():
        raise ReviewError(422, "a rejection says why: give a comment")
    by = row.submitted_by
    if settings(connection).four_eyes and (by["kind"], by["id"]) == (actor.kind, actor.id):
        raise ReviewError(403, f"four eyes: {actor.label} submitted this change, so another "
                               "approver must decide on it")
    now = now or datetime.now(UTC)
    state = "approved" if approve else "rejected"
    connection.execute(sa.update(t.reviews).where(t.reviews.c.id == id).values(
        state=state, comment=comment, decided_by=_actor(actor), decided_at=now))
    audit.record(connection, actor, "approve" if approve else "reject", (row.kind, row.object_id),
                 before={"review": id, "state": "pending"},
                 after={"review": id, "state": state, "content_hash": row.content_hash,
                        "comment": comment}, at=now)
    _configuration_changed(connection)
    found = review(connection, id)
    assert found is not None
    return found


def _configuration_changed(connection: sa.Connection) -> None:
    """Move the configuration version: a running worker reloads its workspace (which
    templates are approved) at its next round."""
    dialect = connection.dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(t.counters)
    connection.execute(insert.values(key="config:version", value=1).on_conflict_do_update(
        index_elements=["key"], set_={"value": t.counters.c.value + 1}))


def publish_problems(connection: sa.Connection, kind: str, object_id: str,
                     document: Mapping[str, Any], place: str = "") -> list[Problem]:
    """Why ``document`` (a journey, a template) may not be published under the workflow:
    itself not approved (``approval.journeys`` / ``approval.templates``), or a journey sending
    a template whose applied content is not approved. Empty when it may."""
    chosen = settings(connection)
    out: list[Problem] = []
    if chosen.required(kind):
        state = review_state(True, _states(connection, kind, object_id, _hash(kind, document)))
        if state != "approved":
            out.append(Problem(place, f"{kind} {object_id!r} is not approved (review state: "
                                      f"{state}); approval.{kind}s is on: {_next_step(state)}"))
    if kind == "journey" and chosen.templates:
        seen: set[str] = set()
        for where, template in template_refs(document.get("nodes"), join(place, "nodes")):
            if template in seen:
                continue
            seen.add(template)
            found = state_of(connection, "template", template, None)
            if found["content_hash"] is not None and found["state"] != "approved":
                out.append(Problem(where, f"template {template!r} is not approved (review "
                                          f"state: {found['state']}); approval.templates is on: "
                                          f"{_next_step(found['state'])}"))
    return out


def _next_step(state: str) -> str:
    return {"pending": "an approver must approve it",
            "rejected": "change it as the reviewer asked and submit it again"}.get(
        state, "submit it for review")


def approved_templates(connection: sa.Connection) -> set[tuple[str, str]]:
    """(template id, content hash) of every approved template content."""
    r = t.reviews.c
    return {(row.object_id, row.content_hash) for row in connection.execute(
        sa.select(r.object_id, r.content_hash).where(r.kind == "template",
                                                     r.state == "approved"))}



