"""The unsubscribe link of every email: ``GET`` shows a confirmation page, ``POST`` (the
link's form, and mail clients' one-click ``List-Unsubscribe-Post``, RFC 8058) unsubscribes.

No API key: the signed token in the link is the authority. The change goes through the inbox
like any other input, so journeys react to it as to any data change.
"""

from __future__ import annotations

from html import escape
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from itinera.api.body import ApiRoute
from itinera.api.context import Ctx
from itinera.api.problems import ApiProblem
from itinera.channels.unsubscribe import verify_token

__all__ = ["router"]

router = APIRouter(route_class=ApiRoute, tags=["unsubscribe"])

Token = Query(description="The token of the unsubscribe link.")


def _person(request: Request, token: str) -> str:
    secret: str | None = getattr(request.app.state, "unsubscribe_secret", None)
    person = verify_token(token, secret) if secret else None
    if person is None:
        raise ApiProblem(404, "unknown-link", "this unsubscribe link is not valid")
    return person


def _page(text: str, form: str = "") -> HTMLResponse:
    return HTMLResponse(f"<!doctype html><meta charset=utf-8><title>Unsubscribe</title>"
                        f"<main><p>{escape(text)}</p>{form}</main>")


_UNKNOWN: dict[int | str, dict[str, Any]] = {404: {"description": "The link is not valid"}}


@router.get("/unsubscribe", response_class=HTMLResponse, responses=_UNKNOWN,
            openapi_extra={"security": []})
def confirm(request: Request, token: str = Token) -> HTMLResponse:
    """A page asking to confirm (a GET must not change anything: link scanners follow links)."""
    _person(request, token)
    action = escape(f"/unsubscribe?token={token}", quote=True)
    return _page("Stop receiving these emails?",
                 f'<form method="post" action="{action}"><button>Unsubscribe</button></form>')


@router.post("/unsubscribe", response_class=HTMLResponse, responses=_UNKNOWN,
             openapi_extra={"security": []})
def unsubscribe(request: Request, context: Ctx, token: str = Token) -> HTMLResponse:
    """Unsubscribe the link's person from every email."""
    person = _person(request, token)
    context.receive([{"upsert_person": {"id": person, "unsubscribed": True}}], source="link")
    return _page("You are unsubscribed. You will not receive these emails any more.")
