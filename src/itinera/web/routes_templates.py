"""Template preview: an email template rendered for a chosen person, with the values a
journey's ``send_email`` would give it (the account, its CSM, the person and their role in a
buying group), in the same sandbox. HTML bodies are shown in a sandboxed frame.

The template can be edited on the page and tried as edited: previewed as it is typed, and sent
as a test email to one address (``studio.test_email``: marked as a test, rate-limited,
recorded), both as htmx fragments. What is edited is kept as the template's draft (kind
``template``, ``storage.drafts``) and published as the drafts API publishes it."""

from __future__ import annotations

from html import escape
from typing import Annotated, Any
from urllib.parse import urlencode

import sqlalchemy as sa
import yaml
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.responses import Response

from itinera.api import drafts as draft_api
from itinera.api.auth import actor_of
from itinera.api.context import Ctx
from itinera.api.problems import ApiProblem
from itinera.definitions.loader import parse_document
from itinera.domain.model import Person, Template
from itinera.errors import DefinitionError
from itinera.storage import drafts, views
from itinera.studio.test_email import TestEmailRefused, render_for, send_test_email
from itinera.web.auth import EditForm, PublishForm, UiUser, ui_user
from itinera.web.pages import render

__all__ = ["preview", "router"]

router = APIRouter(prefix="/ui/templates", include_in_schema=False)
User = Annotated[UiUser, Depends(ui_user)]


def preview(connection: sa.Connection, template: Template, person: Person) -> dict[str, Any]:
    """The rendered parts of ``template`` for ``person`` (``error`` when it cannot render)."""
    return render_for(connection, template, person)


def _draft_of(connection: sa.Connection, template: str) -> tuple[drafts.DraftRow | None, Any]:
    """The template's latest draft, and its fields when its text reads as a mapping."""
    row = next((d for d in drafts.list_drafts(connection, "template") if d.object_id == template),
               None)
    if row is None:
        return None, None
    try:
        model = parse_document(row.text, "template")
    except DefinitionError:
        return row, None
    return row, model if isinstance(model, dict) else None


@router.get("")
def templates_page(request: Request, context: Ctx, user: User, template: str = "",
                   person: str = "", note: str = "") -> Response:
    with context.read() as connection:
        templates = views.templates(connection)
        people = views.find_people(connection)
        chosen = next((t for t in templates if t.id == template), templates[0] if templates else None)
        who = views.person(connection, person) if person else (people[0] if people else None)
        result = preview(connection, chosen, who) if chosen and who else None
        draft, drafted = _draft_of(connection, chosen.id) if chosen else (None, None)
    edit = {k: str(v) for k, v in (drafted or {}).items() if isinstance(v, str)} if drafted else (
        {"subject": chosen.subject, "preheader": chosen.preheader or "", "text": chosen.text,
         "html": chosen.html or ""} if chosen else {})
    # What was asked for and not found is said, and the form keeps it (to correct a typo).
    missing = "; ".join(m for m in (
        f"no template {template!r}" if template and chosen is not None and chosen.id != template else "",
        f"no person {person!r}" if person and who is None else "") if m) or None
    return render(request, "templates.html", user, section="templates", templates=templates,
                  people=people, chosen=chosen, who=who, result=result, missing=missing,
                  person=person, draft=draft, edit=edit, note=note)


_MAX_PART = 200_000  # characters of a subject, preheader, text or HTML body being edited


class _Edited:
    """The template as edited in the form (not stored), and the person it is tried for."""

    def __init__(self, context: Ctx, person: str, template: str, subject: str, preheader: str,
                 text: str, html: str) -> None:
        with context.read() as connection:
            self.who = views.person(connection, person)
            self.template = Template(id=template, subject=subject, text=text,
                                     html=html or None, preheader=preheader or None)
            self.result = preview(connection, self.template, self.who) if self.who else None


_Part = Annotated[str, Form(max_length=_MAX_PART)]


@router.post("/preview")
def edited_preview(request: Request, context: Ctx, user: EditForm,
                   person: Annotated[str, Form(max_length=500)] = "",
                   template: Annotated[str, Form(max_length=500)] = "", subject: _Part = "",
                   preheader: _Part = "", text: _Part = "", html: _Part = "") -> Response:
    """The preview (an htmx fragment) of the template as edited, for the chosen person."""
    edited = _Edited(context, person, template, subject, preheader, text, html)
    if edited.result is None:
        return HTMLResponse(f'<p class="flash error" role="alert">no person {escape(repr(person))}</p>')
    return render(request, "_template_preview.html", user, result=edited.result, who=edited.who)


@router.post("/test-email")
def send_test(request: Request, context: Ctx, user: EditForm,
              to: Annotated[str, Form(max_length=254)] = "",
              person: Annotated[str, Form(max_length=500)] = "",
              template: Annotated[str, Form(max_length=500)] = "", subject: _Part = "",
              preheader: _Part = "", text: _Part = "", html: _Part = "") -> Response:
    """Send the template as edited to ``to`` as a test (``studio.test_email``); the outcome as
    an htmx fragment."""
    edited = _Edited(context, person, template, subject, preheader, text, html)
    if edited.result is None:
        return render(request, "_test_email.html", user, refused=f"no person {person!r}")
    try:
        sent = send_test_email(context.service.intake.engine, getattr(request.app.state, "smtp", None),
                               actor_of(request), to, edited.result, context.now(),
                               template=template or None, person=person)
    except TestEmailRefused as error:
        return render(request, "_test_email.html", user, refused=str(error))
    return render(request, "_test_email.html", user, sent=sent)


def _back(request: Request, template: str, person: str, note: str) -> Response:
    """To the page again (htmx: a full navigation, by its header)."""
    where = "/ui/templates?" + urlencode({"template": template, "person": person, "note": note})
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": where})
    return RedirectResponse(where, status_code=303)


@router.post("/draft")
def save_draft(request: Request, context: Ctx, user: EditForm,
               person: Annotated[str, Form(max_length=500)] = "",
               template: Annotated[str, Form(min_length=1, max_length=500)] = "x",
               subject: _Part = "", preheader: _Part = "", text: _Part = "", html: _Part = "",
               draft: Annotated[str, Form(max_length=100)] = "",
               revision: Annotated[int, Form(ge=0)] = 0) -> Response:
    """Keep the template as edited as its draft (kind ``template``: its workspace entry)."""
    entry: dict[str, Any] = {"id": template, "subject": subject}
    entry |= {"preheader": preheader} if preheader else {}
    entry |= {"text": text}
    entry |= {"html": html} if html else {}
    body = yaml.safe_dump(entry, sort_keys=False, allow_unicode=True)
    # Through the drafts API's functions: audited in the draft's transaction, 409 when stale
    # or when the draft is of another kind.
    actor = actor_of(request)
    if draft:
        draft_api.replace_text(context, actor, draft, revision, body, kind="template")
    else:
        draft_api.create(context, actor, "template", template, "text", body)
    return _back(request, template, person, "draft saved")


@router.post("/publish")
def publish(request: Request, context: Ctx, user: PublishForm,
            draft: Annotated[str, Form(max_length=100)] = "",
            person: Annotated[str, Form(max_length=500)] = "") -> Response:
    """Publish the template's draft into the workspace (as ``POST /api/drafts/{id}/publish``,
    approval included where the workspace asks for it)."""
    with context.read() as connection:
        row = drafts.get_draft(connection, draft)
    if row is None:
        raise ApiProblem(404, "not-found", f"no draft {draft!r}")
    try:
        draft_api.publish(context, actor_of(request), draft, wait=True)
    except draft_api.DraftRefused as refused:
        said = "; ".join(f"{e['place']}: {e['message']}" if e["place"] else e["message"]
                         for e in refused.problems) or refused.detail
        return _back(request, row.object_id or "", person, f"not published: {said}")
    return _back(request, row.object_id or "", person, "published")
