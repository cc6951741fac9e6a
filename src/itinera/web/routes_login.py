"""Signing in to and out of the UI (see ``web.auth``): with a user's name and password, or with
an API key; signing out, here or everywhere.

Failed sign-ins are counted per name and per client address (``storage.sign_in``): past a few,
each locks further tries for longer. The answers never tell whether a name exists: a wrong
password and an unknown name read the same and take as long, and a lock is for the name as
typed.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from itinera.api.auth import allows
from itinera.api.context import Ctx
from itinera.storage import keys, sign_in, users
from itinera.web.auth import COOKIE, UiUser, form, login_response, safe_next
from itinera.web.pages import render

__all__ = ["router"]

router = APIRouter(prefix="/ui", include_in_schema=False)
_FIELD_MAX = 1024  # a name, password or key longer than this is none of ours


@router.get("")
@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/ui/journeys", status_code=303)


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    """The login form (it POSTs: a password or key never goes in an address)."""
    return render(request, "login.html", None, next=safe_next(next), error=None, typed="")


def _locked(wait: timedelta) -> str:
    return (f"Too many failed sign-ins: try again in {math.ceil(wait.total_seconds())} "
            "seconds.")


@router.post("/login")
@router.post("/sign-in")
def login(request: Request, context: Ctx, name: Annotated[str, Form()] = "",
          password: Annotated[str, Form()] = "", key: Annotated[str, Form()] = "",
          next: Annotated[str, Form()] = "/ui/") -> Response:
    """Sign in with a name and password (the page's first form posts to ``/ui/sign-in``) or
    with an API key (its second, to ``/ui/login``); either path takes either."""
    address = request.client.host if request.client else None
    now = context.now()
    by_key = bool(key.strip()) and not name.strip()
    named = None if by_key else name.strip()[:_FIELD_MAX]
    headers: dict[str, str] = {}
    # The attempt is counted (or refused) before anything is checked, in a transaction of its
    # own: parallel guesses each take a count, so no more than the free ones are checked.
    with context.write() as connection:
        wait = sign_in.count_attempt(connection, named, address, now)
    found: users.User | keys.ApiKey | None = None
    if wait is None and len(password) <= _FIELD_MAX and len(key) <= _FIELD_MAX:
        with context.read() as connection:
            found = (keys.find_api_key(connection, key.strip()) if by_key
                     else users.check_password(connection, named or "", password))
    if wait is not None:
        error, status = _locked(wait), 429
        headers["Retry-After"] = str(math.ceil(wait.total_seconds()))
    elif found is None:
        error = ("That key is unknown or revoked." if by_key
                 else "That name and password do not match an active user.")
        status = 401
    elif not allows(found, "read"):
        error, status = (f"A key with the scope '{getattr(found, 'scope', '')}' cannot sign in: "
                         "the UI needs the scope 'read' (or 'write', 'admin')."), 403
    else:
        with context.write() as connection:
            sign_in.record_success(connection, named, address)
            if isinstance(found, users.User):
                session = users.create_user_session(connection, found.id, now)
            else:
                session = keys.create_session(connection, found.id, now)
        return login_response(session, safe_next(next), request.url.scheme == "https")
    page = render(request, "login.html", None, status_code=status, next=safe_next(next),
                  error=error, typed="" if by_key else name[:_FIELD_MAX])
    page.headers.update(headers)
    return page


def _signed_out() -> RedirectResponse:
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.post("/logout")
def logout(request: Request, context: Ctx) -> RedirectResponse:
    """Sign out: the session is deleted (its cookie is then useless anywhere)."""
    session = request.cookies.get(COOKIE)
    if session:
        with context.write() as connection:
            keys.delete_session(connection, session)
    return _signed_out()


@router.post("/logout-everywhere")
def logout_everywhere(context: Ctx, user: Annotated[UiUser, form("read")]) -> RedirectResponse:
    """Sign out everywhere: every session of this user (or key), on every browser, ends."""
    with context.write() as connection:
        if user.is_user:
            users.end_sessions(connection, user_id=user.id)
        else:
            users.end_sessions(connection, key_id=user.id)
    return _signed_out()
