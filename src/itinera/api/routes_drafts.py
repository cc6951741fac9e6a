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

from itinera.api.auth import EDIT, PUBLISH, READ, actor_of
from itinera.api.body import ApiRoute, limit
from itinera.api.context import ApiContext, Ctx, Wait
from itinera.api.problems import PROBLEM_TYPES, ApiProblem, invalid
from itinera.definitions.loader import MAX_BYTES, parse_document
from itinera.definitions.roundtrip import MAX_EDITS, Edit, EditError, apply_edits
from itinera.errors import DefinitionError, Problem
from itinera.runtime import drafts as meaning
from itinera.storage import drafts as store
from itinera.storage.drafts import StaleRevision, TooManyDrafts

__all__ = ["DraftOut", "router"]

router = APIRouter(route_class=ApiRoute, prefix="/api/drafts", tags=["drafts"])
Kind = Literal["journey", "segment", "template"]
# A draft's text is at most the loader's 2 MiB; JSON escaping may grow it.
_BODY = limit(3 * MAX_BYTES)
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


def _out(context: ApiContext, row: store.DraftRow) -> dict[str, Any]:
    with context.read() as connection:
        examined = meaning.examine(connection, row.kind, row.text, row.object_id)
    return {**row.as_dict(), "model": examined.model, "problems": examined.problems}


def _summary(row: store.DraftRow) -> dict[str, Any]:
    return {k: v for k, v in row.as_dict().items() if k != "text"}


def _found(row: store.DraftRow | None, draft_id: str) -> store.DraftRow:
    if row is None:
        raise ApiProblem(404, "not-found", f"no draft {draft_id!r}")
    return row


def _stale(error: StaleRevision) -> ApiProblem:
    return ApiProblem(409, "conflict", str(error))


def _sized(text: str) -> None:
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_BYTES:
        raise invalid([Problem("text", f"too large: {size:,} bytes (at most {MAX_BYTES:,})")])


def _object_id(kind: str, text: str, fallback: str | None) -> str | None:
    """The id the text gives, else the draft's (a text that does not read keeps it)."""
    try:
        model = parse_document(text, meaning.file_name(kind, fallback))
    except DefinitionError:
        return fallback
    return meaning.object_id_of(model) or fallback


@router.get("", dependencies=READ, response_model=list[DraftSummary])
def list_drafts(context: Ctx, kind: Annotated[Kind | None, Query()] = None) -> list[dict[str, Any]]:
    """Every draft (of ``kind``), the latest changed first, without their texts."""
    with context.read() as connection:
        return [_summary(row) for row in store.list_drafts(connection, kind)]


@router.post("", dependencies=EDIT, status_code=201, response_model=DraftOut,
             responses={404: {"description": "from=current: nothing published has that id"}},
             openapi_extra=_BODY)
def create_draft(context: Ctx, request: Request, body: DraftCreate) -> dict[str, Any]:
    """A new draft: ``from`` ``new`` (the smallest document of its kind), ``current`` (the
    text of what is published as ``object_id``: a journey's current version) or ``text``
    (an imported file, as written)."""
    base_version = None
    if body.from_ == "text":
        if body.text is None:
            raise invalid([Problem("text", "from=text needs the text")])
        text = body.text
    elif body.text is not None:
        raise invalid([Problem("text", f"from={body.from_} takes no text")])
    elif body.from_ == "current":
        if body.object_id is None:
            raise invalid([Problem("object_id", "from=current needs the object_id")])
        with context.read() as connection:
            found = meaning.current_text(connection, body.kind, body.object_id)
        if found is None:
            raise ApiProblem(404, "not-found", f"no {body.kind} {body.object_id!r} is published")
        text, base_version = found
    else:
        text = meaning.new_text(body.kind, body.object_id)
    _sized(text)
    by = actor_of(request).label
    try:
        with context.write() as connection:
            row = store.create_draft(connection, kind=body.kind,
                                     object_id=_object_id(body.kind, text, body.object_id),
                                     text=text, base_version=base_version, by=by,
                                     now=context.now())
    except TooManyDrafts as error:
        raise ApiProblem(409, "conflict", str(error)) from None
    return _out(context, row)


@router.get("/{draft_id}", dependencies=READ, response_model=DraftOut, responses=_NOT_FOUND)
def get_draft(context: Ctx, draft_id: str) -> dict[str, Any]:
    """One draft with its text, model and problems."""
    with context.read() as connection:
        row = _found(store.get_draft(connection, draft_id), draft_id)
    return _out(context, row)


def _save(context: Ctx, request: Request, row: store.DraftRow, revision: int,
          text: str) -> dict[str, Any]:
    _sized(text)
    try:
        with context.write() as connection:
            saved = store.update_draft(connection, row.id, revision=revision, text=text,
                                       object_id=_object_id(row.kind, text, row.object_id),
                                       by=actor_of(request).label, now=context.now())
    except StaleRevision as error:
        raise _stale(error) from None
    return _out(context, _found(saved, row.id))


@router.put("/{draft_id}", dependencies=EDIT, response_model=DraftOut,
            responses=_NOT_FOUND | _STALE, openapi_extra=_BODY)
def put_draft(context: Ctx, request: Request, draft_id: str, body: DraftText) -> dict[str, Any]:
    """Replace the draft's text (as typed in the YAML view); ``revision``: the one read."""
    with context.read() as connection:
        row = _found(store.get_draft(connection, draft_id), draft_id)
    return _save(context, request, row, body.revision, body.text)


@router.post("/{draft_id}/edits", dependencies=EDIT, response_model=DraftOut,
             responses=_NOT_FOUND | _STALE, openapi_extra=_BODY)
def edit_draft(context: Ctx, request: Request, draft_id: str, body: DraftEdits) -> dict[str, Any]:
    """Apply edit operations to the text, all or none, keeping comments and key order:
    ``set``, ``delete``, ``insert``, ``move``, ``rename_node`` (docs/studio.md). 422 when one
    does not fit the document (``edits[i]``) or the text does not read (fix it first)."""
    with context.read() as connection:
        row = _found(store.get_draft(connection, draft_id), draft_id)
    if row.revision != body.revision:
        raise _stale(StaleRevision(draft_id, row.revision))
    try:
        text = apply_edits(row.text, body.edits, meaning.file_name(row.kind, row.object_id))
    except EditError as error:
        raise invalid(error.problems, "the edits") from None
    except DefinitionError as error:
        raise invalid(error.problems, "the draft's text (edit it as text first)") from None
    return _save(context, request, row, body.revision, text)


@router.delete("/{draft_id}", dependencies=EDIT, status_code=204, responses=_NOT_FOUND | _STALE)
def delete_draft(context: Ctx, draft_id: str,
                 revision: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> Response:
    """Discard a draft (at ``?revision=``, when given)."""
    try:
        with context.write() as connection:
            found = store.delete_draft(connection, draft_id, revision)
    except StaleRevision as error:
        raise _stale(error) from None
    if not found:
        raise ApiProblem(404, "not-found", f"no draft {draft_id!r}")
    return Response(status_code=204)


@router.get("/{draft_id}/export", dependencies=READ, responses=_NOT_FOUND,
            response_class=Response)
def export_draft(context: Ctx, draft_id: str) -> Response:
    """The draft's text as a file to download (``csb-renewal.journey.yaml``), as written."""
    with context.read() as connection:
        row = _found(store.get_draft(connection, draft_id), draft_id)
    name = meaning.file_name(row.kind, row.object_id)
    return Response(row.text, media_type="application/yaml",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/{draft_id}/publish", dependencies=PUBLISH, status_code=202,
             responses=_NOT_FOUND | _STALE | {
                 422: {"description": "The draft has problems (each with line and column)"}})
def publish_draft(context: Ctx, request: Request, draft_id: str,
                  body: DraftPublish | None = None, wait: Wait = False) -> JSONResponse:
    """Publish the draft — a journey as its next version (with its text and who published
    it), a segment or template into the workspace — and remove it, in one transaction.
    422 listing the problems (``problems`` with line and column) while any remain."""
    with context.read() as connection:
        row = _found(store.get_draft(connection, draft_id), draft_id)
        examined = meaning.examine(connection, row.kind, row.text, row.object_id)
    revision = body.revision if body is not None and body.revision is not None else row.revision
    if revision != row.revision:
        raise _stale(StaleRevision(draft_id, row.revision))
    if examined.problems:
        return _refused(examined.problems)
    entry = meaning.publish_entry(row.kind, examined.model, row.text, actor_of(request).label)
    service = context.service
    try:
        with service.intake.engine.begin() as connection:  # the input and the removal: one
            store.delete_draft(connection, draft_id, revision)
            service.submit([entry], "publish", connection=connection)
    except StaleRevision as error:
        raise _stale(error) from None
    except DefinitionError as error:  # the workspace changed since: say so as problems
        return _refused([{"place": p.place, "message": p.message, "line": None,
                          "column": None} for p in error.problems])
    service.wake()
    answer: dict[str, Any] = {"accepted": 1, "kind": row.kind, "object_id": row.object_id}
    if wait:
        context.drain()
        if row.kind == "journey" and row.object_id is not None:
            with context.read() as connection:
                versions = store.journey_versions(connection, row.object_id)
            answer["version"] = versions[-1]["version"] if versions else None
    return JSONResponse(answer, status_code=200 if wait else 202)


def _refused(problems: list[dict[str, Any]]) -> JSONResponse:
    """422 as every validation error is (``errors: [{place, message}]``), with ``problems``:
    the same with each one's line and column in the draft's text."""
    count = len(problems)
    return JSONResponse({
        "type": "urn:itinera:problem:invalid-input", "title": PROBLEM_TYPES["invalid-input"],
        "status": 422, "detail": f"the draft has {count} problem{'s' if count != 1 else ''}",
        "errors": [{"place": p["place"], "message": p["message"]} for p in problems],
        "problems": problems}, status_code=422, media_type="application/problem+json")
