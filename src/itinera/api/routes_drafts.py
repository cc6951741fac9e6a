"""The studio's drafts over the API: create, read, edit (whole text or by operations), export
and publish a journey, segment or template text (docs/studio.md).

A draft is stored text; it never runs. Each answer carries the draft's ``model`` (the text's
data, as the loader reads it) and ``problems`` (those of ``itinera validate``, with the line and
column of each place). Every write names the ``revision`` it read: a stale one is ``409``.
Publishing is refused (``422``) while problems remain; it stores the publishing input and
removes the draft in one transaction.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from itinera.api import drafts
from itinera.api.auth import EDIT, PUBLISH, READ, actor_of
from itinera.api.body import ApiRoute, limit
from itinera.api.context import Ctx, Wait
from itinera.api.routes_impact import MoveQuery, MovesMatching, moves_of
from itinera.definitions.roundtrip import MAX_EDITS, Edit

__all__ = ["DraftOut", "router"]

router = APIRouter(route_class=ApiRoute, prefix="/api/drafts", tags=["drafts"])
Kind = Literal["journey", "segment", "template"]
# A draft's text is at most 256 KiB (api.drafts.MAX_DRAFT_BYTES); JSON escaping may grow it.
_BODY = limit(4 * drafts.MAX_DRAFT_BYTES)
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such draft"}}
_STALE: dict[int | str, dict[str, Any]] = {
    409: {"description": "The draft changed since the revision given: reload it"}}


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class DraftCreate(_Body):
    kind: Kind
    object_id: str | None = Field(default=None, min_length=1, max_length=200)
    from_: Literal["new", "current", "text"] = Field(default="new", alias="from")
    text: str | None = None


class DraftText(_Body):
    text: str
    revision: int = Field(ge=1)


class DraftEdits(_Body):
    revision: int = Field(ge=1)
    edits: list[Edit] = Field(max_length=MAX_EDITS)


class DraftPublish(_Body):
    revision: int | None = Field(default=None, ge=1)
    moves: dict[str, str | None] | None = Field(default=None, max_length=500)
    move_matching: bool = False


class PlacedProblem(BaseModel):
    place: str
    message: str
    line: int | None
    column: int | None


class DraftSummary(BaseModel):
    id: str
    kind: str
    object_id: str | None
    revision: int
    base_version: int | None
    created_at: str | None
    created_by: str
    updated_at: str | None
    updated_by: str


class DraftOut(DraftSummary):
    text: str
    model: Any
    problems: list[PlacedProblem]


@router.get("", dependencies=READ, response_model=list[DraftSummary])
def list_drafts(context: Ctx, kind: Annotated[Kind | None, Query()] = None) -> list[dict[str, Any]]:
    """Every draft (of ``kind``), the latest changed first, without their texts."""
    return drafts.list_all(context, kind)


@router.post("", dependencies=EDIT, status_code=201, response_model=DraftOut,
             responses={404: {"description": "from=current: nothing published has that id"}},
             openapi_extra=_BODY)
def create_draft(context: Ctx, request: Request, body: DraftCreate) -> dict[str, Any]:
    """A new draft: ``from`` ``new`` (the smallest document of its kind), ``current`` (the
    text of what is published as ``object_id``: a journey's current version) or ``text``
    (an imported file, as written)."""
    return drafts.create(context, actor_of(request), body.kind, body.object_id, body.from_,
                         body.text)


@router.get("/{draft_id}", dependencies=READ, response_model=DraftOut, responses=_NOT_FOUND)
def get_draft(context: Ctx, draft_id: str) -> dict[str, Any]:
    """One draft with its text, model and problems."""
    return drafts.read(context, draft_id)


@router.put("/{draft_id}", dependencies=EDIT, response_model=DraftOut,
            responses=_NOT_FOUND | _STALE, openapi_extra=_BODY)
def put_draft(context: Ctx, request: Request, draft_id: str, body: DraftText) -> dict[str, Any]:
    """Replace the draft's text (as typed in the YAML view); ``revision``: the one read."""
    return drafts.replace_text(context, actor_of(request), draft_id, body.revision, body.text)


@router.post("/{draft_id}/edits", dependencies=EDIT, response_model=DraftOut,
             responses=_NOT_FOUND | _STALE, openapi_extra=_BODY)
def edit_draft(context: Ctx, request: Request, draft_id: str, body: DraftEdits) -> dict[str, Any]:
    """Apply edit operations to the text, all or none, keeping comments and key order:
    ``set``, ``delete``, ``insert``, ``move``, ``rename_node`` (docs/studio.md). 422 when one
    does not fit the document (``edits[i]``) or the text does not read (fix it first)."""
    return drafts.edit(context, actor_of(request), draft_id, body.revision, body.edits)


@router.delete("/{draft_id}", dependencies=EDIT, status_code=204, responses=_NOT_FOUND | _STALE)
def delete_draft(context: Ctx, request: Request, draft_id: str,
                 revision: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> Response:
    """Discard a draft (at ``?revision=``, when given)."""
    drafts.delete(context, actor_of(request), draft_id, revision)
    return Response(status_code=204)


@router.get("/{draft_id}/export", dependencies=READ, responses=_NOT_FOUND,
            response_class=Response)
def export_draft(context: Ctx, draft_id: str) -> Response:
    """The draft's text as a file to download (``csb-renewal.journey.yaml``), as written."""
    name, text = drafts.export(context, draft_id)
    return Response(text, media_type="application/yaml",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/{draft_id}/publish", dependencies=PUBLISH, status_code=202,
             responses=_NOT_FOUND | _STALE | {
                 422: {"description": "The draft has problems (each with line and column)"}})
def publish_draft(context: Ctx, request: Request, draft_id: str,
                  body: DraftPublish | None = None, wait: Wait = False,
                  move: MoveQuery = [],  # noqa: B006 (FastAPI copies it per request)
                  move_matching: MovesMatching = False) -> JSONResponse:
    """Publish the draft — a journey as its next version (with its text and who published
    it; ``move``/``move_matching`` as ``POST /api/journeys``), a segment or template into the
    workspace — and remove it, in one transaction. 422 listing the problems (``problems``
    with line and column) while any remain."""
    moves = moves_of(move)
    if body is not None and body.moves is not None:
        moves = {**body.moves, **moves}
    matching = move_matching or (body is not None and body.move_matching)
    try:
        answer = drafts.publish(context, actor_of(request), draft_id,
                                body.revision if body is not None else None, wait, moves,
                                matching)
    except drafts.DraftRefused as refused:
        return drafts.refused_response(refused)
    return JSONResponse(answer, status_code=200 if wait else 202)
