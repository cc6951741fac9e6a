"""Signing in and out of the UI (see ``web.auth``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from itinera.api.context import Ctx
from itinera.storage import queries
from itinera.web.auth import COOKIE, login_response, safe_next
from itinera.web.pages import render

__all__ = ["router"]

router = APIRouter(prefix="/ui", include_in_schema=False)


@router.get("")
@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/ui/journeys", status_code=303)


def _sign_in(request: Request, context: Ctx, key: str, next: str | None) -> Response:
    with context.read() as connection:
        found = queries.find_api_key(connection, key.strip())
    if found is None:
        return render(request, "login.html", None, status_code=401, next=safe_next(next),
                      error="That key is unknown or revoked.")
    return login_response(key.strip(), safe_next(next), request.url.scheme == "https")


@router.get("/login")
def login_page(request: Request, context: Ctx, key: str | None = None,
               next: str | None = None) -> Response:
    """The login form; with ``?key=`` (the link the CLI prints), sign in at once."""
    if key:
        return _sign_in(request, context, key, next)
    return render(request, "login.html", None, next=safe_next(next), error=None)


@router.post("/login")
def login(request: Request, context: Ctx, key: Annotated[str, Form()] = "",
          next: Annotated[str, Form()] = "/ui/") -> Response:
    return _sign_in(request, context, key, next)


@router.post("/logout")
def logout() -> RedirectResponse:
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(COOKIE, path="/ui")
    return response
