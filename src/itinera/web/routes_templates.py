"""Template preview: an email template rendered for a chosen person, with the values a
journey's ``send_email`` would give it (the account, its CSM, the person and their role in a
buying group), in the same sandbox. HTML bodies are shown in a sandboxed frame."""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from itinera.api.context import Ctx
from itinera.domain.model import Person, Template
from itinera.storage import views
from itinera.studio.test_email import render_for
from itinera.web.auth import UiUser, ui_user
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
