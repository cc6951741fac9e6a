"""The approval workflow over the API: submit content for review, approve or reject it with a
comment, list reviews, and the review state of an object (or of a draft's content).

Submitting needs ``EDIT``; approving and rejecting ``APPROVE``; reads ``READ``. Each write
records its audit entry in its transaction (``storage.reviews``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Body, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from itinera.api.auth import APPROVE, EDIT, READ, actor_of
from itinera.api.body import ApiRoute
from itinera.api.context import After, Ctx, RowId
from itinera.api.problems import ApiProblem
from itinera.api.schemas import ProblemOut
from itinera.runtime import drafts as meaning
from itinera.storage import drafts, reviews

__all__ = ["Decision", "ReviewOut", "ReviewPage", "ReviewState", "Submission", "router"]

router = APIRouter(route_class=ApiRoute, prefix="/api/reviews", tags=["reviews"])
Kind = Literal["template", "journey"]
_TEXT = 4000  # a note or a comment
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ProblemOut} for code in (403, 404, 409, 422)}
_TITLES = {403: "forbidden", 404: "not-found", 409: "conflict", 422: "invalid-input"}


class Submission(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Kind
    object_id: str = Field(min_length=1, max_length=200)
    draft_id: str | None = Field(default=None, max_length=64, description=(
        "Submit this draft's content rather than the object as stored."))
    note: str | None = Field(default=None, max_length=_TEXT)


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    comment: str | None = Field(default=None, max_length=_TEXT)


class ReviewOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: int
    kind: str
    object_id: str
    content_hash: str
    state: str
    note: str | None
    comment: str | None


class ReviewPage(BaseModel):
    items: list[ReviewOut]
    next: int | None


class ReviewState(BaseModel):
    model_config = ConfigDict(extra="allow")
    kind: str
    object_id: str
    required: bool
    state: str
    content_hash: str | None
    reviews: list[ReviewOut]


def _problem(error: reviews.ReviewError) -> ApiProblem:
    return ApiProblem(error.status, _TITLES.get(error.status, "invalid-input"), error.message)


def draft_content(connection: sa.Connection, draft_id: str, kind: str,
                  object_id: str) -> dict[str, Any]:
    """The parsed content (``model``) of draft ``draft_id``, which must be of ``kind`` and
    ``object_id`` and read without problems."""
    row = drafts.get_draft(connection, draft_id)
    if row is None:
        raise ApiProblem(404, "not-found", f"no draft {draft_id!r}")
    if row.kind != kind or row.object_id not in (object_id, None):
        raise ApiProblem(422, "invalid-input", f"draft {draft_id!r} is not of {kind} {object_id!r}")
    examined = meaning.examine(connection, row.kind, row.text, row.object_id)
    if not isinstance(examined.model, dict):
        raise ApiProblem(422, "invalid-input", f"draft {draft_id!r} does not read: fix it first")
    return examined.model


@router.post("", dependencies=EDIT, status_code=201, response_model=ReviewOut,
             responses=_ERRORS)
def submit(request: Request, context: Ctx, body: Annotated[Submission, Body()]) -> dict[str, Any]:
    """Submit content for review: a draft's (``draft_id``) or the object as stored (a template
    as applied, a journey's latest version). Pending reviews of other content of the same
    object are superseded; 409 when this content is pending or approved already."""
    with context.write() as connection:
        content = None if body.draft_id is None else draft_content(
            connection, body.draft_id, body.kind, body.object_id)
        try:
            return reviews.submit(connection, actor_of(request), body.kind, body.object_id,
                                  content, draft_id=body.draft_id, note=body.note)
        except reviews.ReviewError as error:
            raise _problem(error) from None


def _decide(request: Request, context: Ctx, review_id: int, approve: bool,
            comment: str | None) -> dict[str, Any]:
    with context.write() as connection:
        try:
            return reviews.decide(connection, actor_of(request), review_id, approve, comment)
        except reviews.ReviewError as error:
            raise _problem(error) from None


@router.post("/{review_id}/approve", dependencies=APPROVE, response_model=ReviewOut,
             responses=_ERRORS)
def approve(request: Request, context: Ctx, review_id: RowId,
            body: Annotated[Decision | None, Body()] = None) -> dict[str, Any]:
    """Approve a pending review (a comment is optional). Under ``four_eyes``, 403 for the
    one who submitted it."""
    return _decide(request, context, review_id, True, body.comment if body else None)


@router.post("/{review_id}/reject", dependencies=APPROVE, response_model=ReviewOut,
             responses=_ERRORS)
def reject(request: Request, context: Ctx, review_id: RowId,
           body: Annotated[Decision, Body()]) -> dict[str, Any]:
    """Reject a pending review, saying why (``comment``, required)."""
    return _decide(request, context, review_id, False, body.comment)


@router.get("", dependencies=READ, response_model=ReviewPage)
def list_reviews(context: Ctx, state: Literal["pending", "approved", "rejected",
                                              "superseded"] | None = None,
                 kind: Kind | None = None,
                 object_id: Annotated[str | None, Query(max_length=200)] = None,
                 limit: Annotated[int, Query(ge=1, le=500)] = 50,
                 after: After = None) -> dict[str, Any]:
    """Reviews, newest first, each with its content, note and comment; ``next`` pages."""
    with context.read() as connection:
        items = reviews.list_reviews(connection, state=state, kind=kind, object_id=object_id,
                                     limit=limit, after=after)
    return {"items": items, "next": items[-1]["id"] if len(items) == limit else None}


@router.get("/state", dependencies=READ, response_model=ReviewState, responses=_ERRORS)
def review_state(context: Ctx, kind: Kind,
                 object_id: Annotated[str, Query(min_length=1, max_length=200)],
                 draft_id: Annotated[str | None, Query(max_length=64)] = None
                 ) -> dict[str, Any]:
    """The review state of an object's content as stored, or of a draft's (``draft_id``):
    approved, pending, rejected, draft (never submitted, or changed since) or not_required
    (the workflow is off for this kind), with the latest reviews and their comments."""
    with context.read() as connection:
        content = None if draft_id is None else draft_content(connection, draft_id, kind,
                                                              object_id)
        try:
            return reviews.state_of(connection, kind, object_id, content)
        except reviews.ReviewError as error:
            raise _problem(error) from None


@router.get("/{review_id}", dependencies=READ, response_model=ReviewOut, responses=_ERRORS)
def show_review(context: Ctx, review_id: RowId) -> dict[str, Any]:
    """One review with its content."""
    with context.read() as connection:
        found = reviews.review(connection, review_id)
    if found is None:
        raise ApiProblem(404, "not-found", f"no review {review_id}")
    return found
