"""The audit log over the API: ``GET /api/audit``, newest first, paged by id.

Readable with the ``read`` scope (docs/security.md says why): entries never hold a secret, and
what they show of content is what a reader can read anyway.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from itinera.api.auth import READ
from itinera.api.body import ApiRoute
from itinera.api.context import ID_MAX, After, Ctx
from itinera.storage import audit

__all__ = ["AuditActor", "AuditEntry", "AuditPage", "router"]

router = APIRouter(route_class=ApiRoute, prefix="/api/audit", tags=["audit"])
_TEXT = 200  # filters are names and ids: longer ones name nothing


class AuditActor(BaseModel):
    kind: str
    id: str
    name: str
    label: str


class AuditObject(BaseModel):
    kind: str
    id: str


class AuditEntry(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: int
    at: str
    actor: AuditActor
    address: str | None
    kind: str
    object: AuditObject
    before: Any
    after: Any


class AuditPage(BaseModel):
    items: list[AuditEntry]
    next: int | None


@router.get("", dependencies=READ, response_model=AuditPage)
def list_audit(
    context: Ctx,
    actor: Annotated[str | None, Query(max_length=_TEXT, description=(
        "Who: a label (`key:ci`, `user:ana`, `cli:root`), a name or an id."))] = None,
    object_kind: Annotated[str | None, Query(max_length=_TEXT, description=(
        "The kind of object: journey, template, segment, workspace, key, user, task, draft, "
        "review."))] = None,
    object_id: Annotated[str | None, Query(max_length=_TEXT)] = None,
    kind: Annotated[str | None, Query(max_length=_TEXT, description=(
        "The change: publish, enable, approve, key_create..."))] = None,
    since: Annotated[datetime | None, Query(description="From this instant (inclusive).")] = None,
    until: Annotated[datetime | None, Query(description="Before this instant.")] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Entries per page.")] = 50,
    after: After = None,
) -> dict[str, Any]:
    """Who changed what, when and from where, with what changed (before/after), newest
    first; ``next`` is the ``after`` of the following page (null on the last)."""
    filters = audit.Filters(actor=actor, object_kind=object_kind, object_id=object_id,
                            kind=kind, since=since, until=until)
    with context.read() as connection:
        items = audit.entries(connection, filters, limit, min(after, ID_MAX) if after else None)
    return {"items": items, "next": items[-1]["id"] if len(items) == limit else None}
