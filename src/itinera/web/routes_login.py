"""Signing in and out of the UI (see ``web.auth``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from itinera.api.auth import GRANTS
from itinera.api.context import Ctx
from itinera.storage import keys
from itinera.web.auth import COOKIE, login_response, safe_next
from itinera.web.pages import render

__all__ = ["router"]

router = APIRouter(prefix="/ui", include_in_schema=False)


@router.get("")
@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/ui/journeys", status_code=303)


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    """The login form (it POSTs the key: a key never goes in an address)."""
    return render(request, "login.html", None, next=safe_next(next), error=None)


@router.post("/login")
def login(request: Request, context: Ctx, key: Annotated[str, Form()] = "",
          next: Annotated[str, Form()] = "/ui/") -> Response:
    with context.write() as connection:
        found = keys.find_api_key(connection, key.strip())
        if found is None:
            error, status = "That key is unknown or revoked.", 401
        elif "read" not in GRANTS.get(found.scope, frozenset()):
            error, status = (f"A key with the scope '{found.scope}' cannot sign in: the UI needs "
                             "the scope 'read' (or 'write', 'admin')."), 403
        else:
            session = keys.create_session(connection, found.id, context.now())
            return login_response(session, safe_next(next), request.url.scheme == "https")
    return render(request, "login.html", None, status_code=status, next=safe_next(next), error=error)


@router.post("/logout")
def logout(request: Request, context: Ctx) -> RedirectResponse:
    """Sign out: the session is deleted (its cookie is then useless anywhere)."""
    session = request.cookies.get(COOKIE)
    if session:
        with context.write() as connection:
            keys.delete_session(connection, session)
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(COOKIE, path="/ui")
    return response
