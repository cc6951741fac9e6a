"""The journey studio: the drafts list, "New journey" / "Edit", the studio page, and the JSON
endpoints the studio's script calls.

The studio's script authenticates with the UI session, never with a key: the session cookie is
sent only under ``/ui`` (``web.auth``), so its JSON endpoints live under ``/ui/studio/api``.
Reads need a session that may read (``ui_user``); writes need one that may edit and the page's
CSRF token in the ``X-CSRF-Token`` header (a page of another site cannot know it, and SameSite=Strict
keeps the cookie off its requests anyway). Each endpoint delegates to the drafts functions that
``/api/drafts`` uses (``web.studio_drafts``), so both answer the same ``Draft`` JSON and problems.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from itinera.api.context import Ctx
from itinera.api.problems import ApiProblem
from itinera.api.routes_drafts import DraftEdits, DraftText
from itinera.web import studio_drafts
from itinera.web.auth import EditForm, UiAccess, UiUser, ui_user
from itinera.web.pages import render

__all__ = ["router"]

router = APIRouter(prefix="/ui/studio", include_in_schema=False)
User = Annotated[UiUser, Depends(ui_user)]
_writer = UiAccess("edit")
API = "/ui/studio/api"


async def _csrf_header(request: Request, user: Annotated[UiUser, Depends(_writer)],
                       token: Annotated[str, Header(alias="X-CSRF-Token")] = "") -> UiUser:
    """A write from the studio's script: a session that may write, and the page's token in the
    ``X-CSRF-Token`` header (or, as the UI's forms send it, a ``csrf`` form field)."""
    if not token and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        field = (await request.form()).get("csrf")
        token = field if isinstance(field, str) else ""
    if not hmac.compare_digest(token, user.csrf):
        raise ApiProblem(403, "forbidden", "the page's token is missing or wrong: reload the page")
    return user


Writer = Annotated[UiUser, Depends(_csrf_header)]


# Pages ------------------------------------------------------------------------------------------

@router.get("")
def drafts_page(request: Request, context: Ctx, user: User) -> Response:
    drafts = studio_drafts.list_drafts(context, "journey")
    return render(request, "studio_drafts.html", user, section="journeys", drafts=drafts)


@router.post("/new")
def new_journey(request: Request, context: Ctx, user: EditForm) -> RedirectResponse:
    draft = studio_drafts.create(context, request, "journey", None, "new")
    return RedirectResponse(f"/ui/studio/{draft['id']}", status_code=303)


@router.post("/edit/{journey_id}")
def edit_journey(request: Request, context: Ctx, user: EditForm, journey_id: str) -> RedirectResponse:
    draft = studio_drafts.create(context, request, "journey", journey_id, "current")
    return RedirectResponse(f"/ui/studio/{draft['id']}", status_code=303)


# The JSON the studio's script reads and writes (before /{draft_id}, which would match "api").

@router.get("/api/drafts/{draft_id}")
def get_draft(context: Ctx, user: User, draft_id: str) -> dict[str, Any]:
    return studio_drafts.get(context, draft_id)


@router.post("/api/drafts/{draft_id}/text")
def put_text(request: Request, context: Ctx, user: Writer, draft_id: str,
             body: DraftText) -> dict[str, Any]:
    return studio_drafts.put_text(context, request, draft_id, body)


@router.post("/api/drafts/{draft_id}/edits")
def post_edits(request: Request, context: Ctx, user: Writer, draft_id: str,
               body: DraftEdits) -> dict[str, Any]:
    return studio_drafts.edit(context, request, draft_id, body)


@router.get("/api/drafts/{draft_id}/export")
def export(context: Ctx, user: User, draft_id: str) -> Response:
    return studio_drafts.export(context, draft_id)


@router.get("/{draft_id}")
def studio_page(request: Request, context: Ctx, user: User, draft_id: str) -> Response:
    draft = studio_drafts.get(context, draft_id)
    if draft["kind"] != "journey":
        raise ApiProblem(404, "not-found", f"draft {draft_id!r} is a {draft['kind']}, not a journey")
    return render(request, "studio.html", user, section="journeys", draft=draft, api=API)
