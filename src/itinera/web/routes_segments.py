"""Segments in the UI: the workspace's segments with how many accounts are in each, and an
editor where a segment (its YAML entry, ``{id, when}``) is edited as a draft while a panel shows
how many accounts its condition matches now and a sample of them (``studio.segment_preview``,
the same as ``POST /api/segments/preview``), refreshed as it is typed (htmx). The text is kept
as a draft of kind ``segment`` (``storage.drafts``) and published as the drafts API publishes
it (``POST /api/drafts/{id}/publish``: into the workspace, the draft removed)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

import sqlalchemy as sa
import yaml
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from itinera.api import drafts as draft_api
from itinera.api.auth import actor_of
from itinera.api.context import ApiContext, Ctx
from itinera.api.problems import ApiProblem
from itinera.definitions.loader import parse_document
from itinera.errors import DefinitionError, Problem
from itinera.storage import drafts, queries
from itinera.storage import schema as t
from itinera.studio.segment_preview import PreviewTooSlow, parse_segment_condition, preview
from itinera.web.auth import EditForm, PublishForm, UiUser, ui_user
from itinera.web.pages import render
from itinera.web.words import describe

__all__ = ["router", "segment_check"]

router = APIRouter(prefix="/ui/segments", include_in_schema=False)
User = Annotated[UiUser, Depends(ui_user)]
MAX_TEXT = 64 * 1024  # a segment's YAML entry is a few hundred bytes


def _segments(connection: sa.Connection) -> list[dict[str, Any]]:
    counts = {segment: int(n) for segment, n in connection.execute(
        sa.select(t.segment_members.c.segment, sa.func.count())
        .group_by(t.segment_members.c.segment))}
    return [{"id": s["id"], "when": s.get("when"), "words": describe(s.get("when")),
             "members": int(counts.get(s["id"], 0))}
            for s in queries.workspace_data(connection).get("segments", [])
            if isinstance(s, dict) and "id" in s]


@router.get("")
def segments_page(request: Request, context: Ctx, user: User) -> Response:
    with context.read() as connection:
        segments = _segments(connection)
    return render(request, "segments.html", user, section="segments", segments=segments)


def _text_of(segment: dict[str, Any] | None, segment_id: str) -> str:
    entry = {"id": segment_id, "when": (segment or {}).get("when") or {"account.id": {"exists": True}}}
    return yaml.safe_dump(entry, sort_keys=False, allow_unicode=True)


@router.get("/edit")
def segment_editor(request: Request, context: Ctx, user: User, id: str = "",
                   saved: str = "") -> Response:
    """The editor of the segment ``id`` (a new one when the workspace has none of that id):
    its latest draft when it has one, else the segment as published."""
    with context.read() as connection:
        segment = next((s for s in _segments(connection) if s["id"] == id), None)
        draft = next((d for d in drafts.list_drafts(connection, "segment")
                      if d.object_id == (id or None)), None)
    text = draft.text if draft is not None else _text_of(segment, id or "new-segment")
    return render(request, "segment.html", user, section="segments", segment=segment,
                  segment_id=id, text=text, check=segment_check(context, text), draft=draft,
                  saved=saved)


def _again(request: Request, segment_id: str, note: str) -> Response:
    """To the editor again (htmx: a full navigation, by its header)."""
    where = f"/ui/segments/edit?id={quote(segment_id)}&saved={quote(note)}"
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": where})
    return RedirectResponse(where, status_code=303)


@router.post("/draft")
def save_draft(request: Request, context: Ctx, user: EditForm,
               text: Annotated[str, Form(max_length=MAX_TEXT)] = "",
               draft: Annotated[str, Form(max_length=100)] = "",
               revision: Annotated[int, Form(ge=0)] = 0) -> Response:
    """Keep the text as the segment's draft (a new one, or the next revision of ``draft``)."""
    try:
        raw = parse_document(text, "segment")
    except DefinitionError:
        raw = None
    segment_id = raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else None
    if segment_id is None:
        return render(request, "_segment_preview.html", user, check={  # 200: htmx shows it
            "problems": [Problem("id", "a segment draft needs its 'id'")]})
    # Through the drafts API's functions: audited in the draft's transaction, 409 when stale
    # or when the draft is of another kind.
    actor = actor_of(request)
    if draft:
        draft_api.replace_text(context, actor, draft, revision, text, kind="segment")
    else:
        draft_api.create(context, actor, "segment", segment_id, "text", text)
    return _again(request, segment_id, "draft saved")


@router.post("/publish")
def publish(request: Request, context: Ctx, user: PublishForm,
            draft: Annotated[str, Form(max_length=100)] = "") -> Response:
    """Publish the segment's draft into the workspace (as ``POST /api/drafts/{id}/publish``)."""
    with context.read() as connection:
        row = drafts.get_draft(connection, draft)
    if row is None:
        raise ApiProblem(404, "not-found", f"no draft {draft!r}")
    try:
        draft_api.publish(context, actor_of(request), draft, wait=True)
    except draft_api.DraftRefused as refused:
        return render(request, "segment.html", user, status_code=422, section="segments",
                      segment=None, segment_id=row.object_id or "", text=row.text, draft=row,
                      saved="", check={"problems": [Problem(p["place"], p["message"])
                                                    for p in refused.problems]})
    return RedirectResponse("/ui/segments", status_code=303)


def segment_check(context: ApiContext, text: str) -> dict[str, Any]:
    """What the preview panel shows for a segment's text: ``problems`` (each with its place),
    or ``count`` and ``sample`` (and the condition in words)."""
    if len(text.encode()) > MAX_TEXT:
        return {"problems": [Problem("", f"too large: at most {MAX_TEXT:,} bytes")]}
    try:
        raw = parse_document(text, "segment")
    except DefinitionError as error:
        return {"problems": error.problems}
    if not isinstance(raw, dict) or "when" not in raw:
        return {"problems": [Problem("", "a segment is a mapping with 'id' and 'when'")]}
    with context.read() as connection:
        tree, problems = parse_segment_condition(connection, raw["when"], "when")
        if tree is None:
            return {"problems": problems}
        try:
            found = preview(connection, tree, context.service.clock.now())
        except PreviewTooSlow:
            return {"problems": [Problem("", "the database did not count the accounts in time")]}
    return {"problems": [], "count": found.count, "sample": found.sample,
            "words": describe(raw["when"]), "at": found.at}


@router.post("/preview")
def segment_preview(request: Request, context: Ctx, user: EditForm,
                    text: Annotated[str, Form(max_length=MAX_TEXT)] = "") -> Response:
    """The preview panel (an htmx fragment) for the text being edited."""
    return render(request, "_segment_preview.html", user, check=segment_check(context, text))
