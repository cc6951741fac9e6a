"""The approval workflow in the UI: the review queue for approvers (approve, or reject with a
comment), and the review panel of a template or a draft (its state, the reviewers' comments,
a Submit for review button) — the same writes as ``/api/reviews``."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from itinera.api.auth import actor_of
from itinera.api.context import Ctx, RowId
from itinera.api.problems import ApiProblem
from itinera.api.routes_reviews import draft_content
from itinera.storage import reviews
from itinera.web.auth import ApproveForm, EditForm, UiUser, safe_next, ui_user
from itinera.web.pages import render

__all__ = ["router"]

router = APIRouter(prefix="/ui/reviews", include_in_schema=False)
User = Annotated[UiUser, Depends(ui_user)]
_STATES = ("pending", "approved", "rejected", "superseded")
_TEXT = 4000


def _with(next: str, **flash: str) -> str:
    where = safe_next(next)
    return where + ("&" if "?" in where else "?") + urlencode(flash)


@router.get("")
def queue(request: Request, context: Ctx, user: User, state: str = "pending", note: str = "",
          refused: str = "",
          after: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> Response:
    """Reviews, the pending ones first in line (newest first), each with its content."""
    chosen = state if state in _STATES else None
    with context.read() as connection:
        items = reviews.list_reviews(connection, state=chosen, limit=50, after=after)
        settings = reviews.settings(connection)
    return render(request, "reviews.html", user, section="reviews", items=items,
                  state=state if chosen else "all", settings=settings, note=note,
                  refused=refused, next_after=items[-1]["id"] if len(items) == 50 else None)


def _decide(request: Request, context: Ctx, review_id: int, approve: bool, comment: str,
            next: str) -> RedirectResponse:
    try:
        with context.write() as connection:
            reviews.decide(connection, actor_of(request), review_id, approve,
                           comment.strip() or None)
    except reviews.ReviewError as error:
        return RedirectResponse(_with(next or "/ui/reviews", refused=error.message),
                                status_code=303)
    done = "approved" if approve else "rejected"
    return RedirectResponse(_with(next or "/ui/reviews", note=f"Review {review_id} {done}."),
                            status_code=303)


@router.post("/{review_id}/approve")
def approve(request: Request, context: Ctx, user: ApproveForm, review_id: RowId,
            comment: Annotated[str, Form(max_length=_TEXT)] = "",
            next: Annotated[str, Form(max_length=500)] = "") -> RedirectResponse:
    return _decide(request, context, review_id, True, comment, next)


@router.post("/{review_id}/reject")
def reject(request: Request, context: Ctx, user: ApproveForm, review_id: RowId,
           comment: Annotated[str, Form(max_length=_TEXT)] = "",
           next: Annotated[str, Form(max_length=500)] = "") -> RedirectResponse:
    return _decide(request, context, review_id, False, comment, next)


@router.post("/submit")
def submit(request: Request, context: Ctx, user: EditForm,
           kind: Annotated[str, Form(max_length=20)],
           object_id: Annotated[str, Form(min_length=1, max_length=200)],
           draft_id: Annotated[str, Form(max_length=64)] = "",
           note: Annotated[str, Form(max_length=_TEXT)] = "",
           next: Annotated[str, Form(max_length=500)] = "") -> RedirectResponse:
    """Submit a template or journey (as stored, or a draft's content) for review."""
    if kind not in ("template", "journey"):
        raise ApiProblem(422, "invalid-input", f"kind {kind!r}: template or journey")
    try:
        with context.write() as connection:
            content = draft_content(connection, draft_id, kind, object_id) if draft_id else None
            made = reviews.submit(connection, actor_of(request), kind, object_id, content,
                                  draft_id=draft_id or None, note=note.strip() or None)
    except reviews.ReviewError as error:
        return RedirectResponse(_with(next or "/ui/reviews", refused=error.message),
                                status_code=303)
    return RedirectResponse(_with(next or "/ui/reviews",
                                  note=f"Submitted for review (review {made['id']})."),
                            status_code=303)


@router.get("/panel")
def panel(request: Request, context: Ctx, user: User,
          kind: Annotated[str, Query(max_length=20)],
          object_id: Annotated[str, Query(max_length=200)],
          draft_id: Annotated[str, Query(max_length=64)] = "",
          next: Annotated[str, Query(max_length=500)] = "") -> Response:
    """The review panel of an object or a draft (an htmx fragment): state, comments, Submit."""
    if kind not in ("template", "journey"):
        raise ApiProblem(422, "invalid-input", f"kind {kind!r}: template or journey")
    with context.read() as connection:
        content: dict[str, Any] | None = (draft_content(connection, draft_id, kind, object_id)
                                          if draft_id else None)
        try:
            found = reviews.state_of(connection, kind, object_id, content)
        except reviews.ReviewError:
            found = None
    return render(request, "_review_panel.html", user, review=found, kind=kind,
                  object_id=object_id, draft_id=draft_id, next=safe_next(next))
