"""Signing in to the UI with an API key, and keeping writes from other sites out.

The key pasted on the login page (or given once as ``/ui/login?key=...``, the link ``itinera
demo`` and ``itinera serve`` print) is kept in a cookie that scripts cannot read (HttpOnly),
that browsers send only on requests started from the UI's own pages (SameSite=Strict) and
only under ``/ui``. Every page checks it against the store, so revoking the key signs out.

Writes are POST forms. Besides SameSite=Strict, each form carries a token derived from the key
(HMAC-SHA256), which a page of another site cannot know: a write without it is refused (403).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Form, Request
from fastapi.responses import RedirectResponse

from itinera.api.context import ApiContext, get_context
from itinera.api.problems import ApiProblem
from itinera.storage import queries

__all__ = ["COOKIE", "CsrfForm", "LoginRequired", "UiUser", "csrf_token", "login_link", "login_response",
           "require_csrf", "safe_next", "ui_user"]

COOKIE = "itinera_ui_key"
_CSRF_CONTEXT = b"itinera-ui-csrf"


class LoginRequired(Exception):
    """No key, or one that is unknown or revoked: the browser is sent to the login page."""

    def __init__(self, next: str) -> None:
        super().__init__(next)
        self.next = next


class UiUser:
    """The signed-in key: its listing and the form token derived from it."""

    def __init__(self, key: str, found: queries.ApiKey) -> None:
        self.name = found.name
        self.key_id = found.id
        self.csrf = csrf_token(key)


def csrf_token(key: str) -> str:
    return hmac.new(key.encode(), _CSRF_CONTEXT, hashlib.sha256).hexdigest()[:40]


def safe_next(next: str | None) -> str:
    """Where to go after signing in: a UI path of this site, never another site."""
    if next and next.startswith("/ui") and not next.startswith("//"):
        return next
    return "/ui/"


def ui_user(request: Request, context: Annotated[ApiContext, Depends(get_context)]) -> UiUser:
    """The signed-in key, or a redirect to the login page (see :class:`LoginRequired`)."""
    key = request.cookies.get(COOKIE)
    found = None
    if key:
        with context.read() as connection:
            found = queries.find_api_key(connection, key)
    if key is None or found is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(path)
    return UiUser(key, found)


def require_csrf(user: Annotated[UiUser, Depends(ui_user)],
                 csrf: Annotated[str, Form()] = "") -> UiUser:
    """The signed-in key, for a write whose form carries its token; 403 otherwise."""
    if not hmac.compare_digest(csrf, user.csrf):
        raise ApiProblem(403, "forbidden", "the form's token is missing or wrong: reload the page")
    return user


def login_response(key: str, next: str, secure: bool) -> RedirectResponse:
    """Keep ``key`` in the cookie and go to ``next``."""
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(COOKIE, key, httponly=True, samesite="strict", path="/ui", secure=secure,
                        max_age=30 * 86400)
    return response


def login_link(base: str, key: str) -> str:
    """The link that signs a browser in with ``key`` (what the CLI prints)."""
    return f"{base.rstrip('/')}/ui/login?key={quote(key, safe='')}"


CsrfForm = Annotated[UiUser, Depends(require_csrf)]
