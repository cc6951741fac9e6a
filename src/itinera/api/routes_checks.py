"""The studio's checks that need no draft: what a segment's condition matches now
(``POST /api/segments/preview``), a template rendered for a person and sent to one address as
a test (``/api/templates/preview``, ``/api/templates/test-email``). Each is bounded: the
condition and template by the body's size and the parsers' limits, the preview's queries by a
time limit, test emails by a rate per actor.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, ConfigDict, Field

from itinera.api.auth import EDIT, actor_of
from itinera.api.body import ApiRoute
from itinera.api.context import ApiContext, Ctx
from itinera.api.problems import ApiProblem, invalid
from itinera.api.schemas import ProblemOut
from itinera.channels.settings import SmtpSettings
from itinera.domain.model import Person, Template
from itinera.errors import Problem
from itinera.storage import views
from itinera.studio.segment_preview import (
    MAX_SAMPLE,
    SAMPLE,
    PreviewTooSlow,
    parse_segment_condition,
    preview,
)
from itinera.studio.test_email import TestEmailRefused, render_for, send_test_email

__all__ = ["TemplateContent", "find_template", "router", "segment_preview_json"]

router = APIRouter(route_class=ApiRoute, prefix="/api")
_INVALID: dict[int | str, dict[str, Any]] = {
    422: {"model": ProblemOut, "description": "Every problem, each with its place"}}


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SegmentPreviewIn(_Body):
    condition: Any = Field(description="A segment's condition (its `when`), as in a workspace "
                                       "file: `{account.size: Large}`.")
    limit: int = Field(default=SAMPLE, ge=0, le=MAX_SAMPLE, description="Accounts in the sample.")


class AccountRef(BaseModel):
    id: str
    name: str | None


class SegmentPreviewOut(BaseModel):
    count: int = Field(description="Accounts the condition matches now.")
    sample: list[AccountRef] = Field(description="The first of them by id, with their names.")
    at: str = Field(description="The instant it was evaluated at (the service's clock).")


class TemplateContent(_Body):
    subject: str = Field(max_length=10_000)
    preheader: str | None = Field(default=None, max_length=10_000)
    text: str = Field(default="", max_length=200_000)
    html: str | None = Field(default=None, max_length=500_000)


class TemplateChoice(_Body):
    person: str = Field(min_length=1, max_length=500, description="Whose values to render with.")
    template: str | None = Field(default=None, max_length=500, description="A stored template.")
    content: TemplateContent | None = Field(default=None, description="A template not stored "
                                            "(being edited).")


class TestEmailIn(TemplateChoice):
    to: str = Field(min_length=3, max_length=254, description="The one address to send to.")


class RenderedOut(BaseModel):
    subject: str | None = None
    preheader: str | None = None
    text: str | None = None
    html: str | None = None
    error: str | None = None


class TestEmailOut(BaseModel):
    id: int
    to: str
    subject: str
    status: str = Field(description="sent, or failed (with the relay's reason in `error`).")
    error: str | None


def segment_preview_json(context: ApiContext, condition: Any, limit: int = SAMPLE,
                         place: str = "condition") -> dict[str, Any]:
    """The preview's JSON, or 422 with the condition's problems (each under ``place``)."""
    with context.read() as connection:
        tree, problems = parse_segment_condition(connection, condition, place)
        if tree is None:
            raise invalid(problems, "the condition")
        try:
            return preview(connection, tree, context.service.clock.now(), limit).as_json()
        except PreviewTooSlow:
            raise ApiProblem(503, "unavailable", "the preview took too long: the database did "
                                                 "not count the accounts in time") from None


@router.post("/segments/preview", dependencies=EDIT, response_model=SegmentPreviewOut,
             responses=_INVALID, tags=["studio"])
def preview_segment(context: Ctx, body: Annotated[SegmentPreviewIn, Body()]) -> dict[str, Any]:
    """How many accounts a segment's condition matches now, and a sample of them (the first
    ``limit`` by id, with their names): while a segment is edited, before it is published."""
    return segment_preview_json(context, body.condition, body.limit)


def find_template(context: ApiContext, choice: TemplateChoice) -> tuple[Template, Person]:
    """The template (stored, or the content given) and the person it is rendered for."""
    problems: list[Problem] = []
    if (choice.template is None) == (choice.content is None):
        problems.append(Problem("template", "name a stored template or give its content, not both"))
    with context.read() as connection:
        person = views.person(connection, choice.person)
        if person is None:
            problems.append(Problem("person", f"no person {choice.person!r}"))
        template: Template | None = None
        if choice.template is not None:
            template = next((t for t in views.templates(connection) if t.id == choice.template),
                            None)
            if template is None:
                problems.append(Problem("template", f"no template {choice.template!r}"))
        elif choice.content is not None:
            template = Template(id="", subject=choice.content.subject, text=choice.content.text,
                                html=choice.content.html, preheader=choice.content.preheader)
    if problems or template is None or person is None:
        raise invalid(problems)
    return template, person


@router.post("/templates/preview", dependencies=EDIT, response_model=RenderedOut,
             responses=_INVALID, tags=["studio"])
def preview_template(context: Ctx, body: Annotated[TemplateChoice, Body()]) -> dict[str, Any]:
    """A template rendered for a person, as a journey's ``send_email`` would render it (the
    same sandbox and limits); ``error`` says why it cannot render."""
    template, person = find_template(context, body)
    with context.read() as connection:
        rendered = render_for(connection, template, person)
    rendered.pop("values")
    return rendered


@router.post("/templates/test-email", dependencies=EDIT, response_model=TestEmailOut,
             responses=_INVALID | {409: {"model": ProblemOut}, 429: {"model": ProblemOut}},
             tags=["studio"])
def test_email(request: Request, context: Ctx,
               body: Annotated[TestEmailIn, Body()]) -> dict[str, Any]:
    """Send a template, rendered for a person, to one address over the configured SMTP relay,
    as a test: ``[TEST]`` before its subject, no enrollment, no delivery in the outbox.
    Recorded with who sent it; at most 5 a minute and 50 a day per user or key (429)."""
    template, person = find_template(context, body)
    with context.read() as connection:
        rendered = render_for(connection, template, person)
    smtp: SmtpSettings | None = getattr(request.app.state, "smtp", None)
    try:
        sent = send_test_email(context.service.intake.engine, smtp, actor_of(request), body.to,
                               rendered, context.now(), template=template.id or None,
                               person=person.id)
    except TestEmailRefused as error:
        raise ApiProblem(error.status, {409: "conflict", 429: "too-many-requests"}.get(
            error.status, "invalid-input"), str(error)) from None
    return sent.as_json()
