"""Template preview: an email template rendered for a chosen person, with the values a
journey's ``send_email`` would give it (the account, its CSM, the person and their role in a
buying group), in the same sandbox. HTML bodies are shown in a sandboxed frame.

The template can be edited on the page and tried as edited: previewed as it is typed, and sent
as a test email to one address (``studio.test_email``: marked as a test, rate-limited,
recorded), both as htmx fragments."""

from __future__ import annotations

from html import escape
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from itinera.api.auth import actor_of
from itinera.api.context import Ctx
from itinera.domain.model import Person, Template
from itinera.storage import views
from itinera.studio.test_email import TestEmailRefused, render_for, send_test_email
from itinera.web.auth import EditForm, UiUser, ui_user
from itinera.web.pages import render

__all__ = ["preview", "router"]

router = APIRouter(prefix="/ui/templates", include_in_schema=False)
User = Annotated[UiUser, Depends(ui_user)]


def preview(connection: sa.Connection, template: Template, person: Person) -> dict[str, Any]:
    """The rendered parts of ``template`` for ``person`` (``error`` when it cannot render)."""
    return render_for(connection, template, person)


@router.get("")
def templates_page(request: Request, context: Ctx, user: User, template: str = "",
                   person: str = "") -> Response:
    with context.read() as connection:
        templates = views.templates(connection)
        people = views.find_people(connection)
        chosen = next((t for t in templates if t.id == template), templates[0] if templates else None)
        who = views.person(connection, person) if person else (people[0] if people else None)
        result = preview(connection, chosen, who) if chosen and who else None
    # What was asked for and not found is said, and the form keeps it (to correct a typo).
    missing = "; ".join(m for m in (
        f"no template {template!r}" if template and chosen is not None and chosen.id != template else "",
        f"no person {person!r}" if person and who is None else "") if m) or None
    return render(request, "templates.html", user, section="templates", templates=templates,
                  people=people, chosen=chosen, who=who, result=result, missing=missing,
                  person=person)


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
