"""Segments in the UI: the workspace's segments with how many accounts are in each, and an
editor where a segment (its YAML entry, ``{id, when}``) is edited as a draft while a panel shows
how many accounts its condition matches now and a sample of them (``studio.segment_preview``,
the same as ``POST /api/segments/preview``), refreshed as it is typed (htmx)."""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
import yaml
from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import Response

from itinera.api.context import ApiContext, Ctx
from itinera.definitions.loader import parse_document
from itinera.errors import DefinitionError, Problem
from itinera.storage import queries
from itinera.storage import schema as t
from itinera.studio.segment_preview import PreviewTooSlow, parse_segment_condition, preview
from itinera.web.auth import EditForm, UiUser, ui_user
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
def segment_editor(request: Request, context: Ctx, user: User, id: str = "") -> Response:
    """The editor of the segment ``id`` (a new one when the workspace has none of that id)."""
    with context.read() as connection:
        segment = next((s for s in _segments(connection) if s["id"] == id), None)
    check = segment_check(context, _text_of(segment, id or "new-segment"))
    return render(request, "segment.html", user, section="segments", segment=segment,
                  segment_id=id, text=_text_of(segment, id or "new-segment"), check=check)


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
