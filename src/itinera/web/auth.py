"""Signing in to the UI with an API key, sessions, and keeping writes from other sites out.

The key is pasted in the login form, which POSTs it: it is never in an address (so never in an
access log). Signing in makes a server-side session (``storage.keys``): the cookie holds only
its random token, which scripts cannot read (HttpOnly), browsers send only on requests started
from the UI's own pages (SameSite=Strict), only under ``/ui``, and only over https when the UI
is served so (Secure). Every page checks the session against the store: it expires, signing out
deletes it, and revoking the key ends it.

Scopes are checked as for the API (``api.auth.check_scope``): pages need ``read``, writes
(POST forms) ``write``. Besides SameSite=Strict, each form carries a token derived from the
session (HMAC-SHA256), which a page of another site cannot know: a write without it is refused
(403).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from fastapi import Depends, Form, Request
from fastapi.responses import RedirectResponse

from itinera.api.auth import check_scope
from itinera.api.context import ApiContext, get_context
from itinera.api.problems import ApiProblem
from itinera.domain.actor import Actor
from itinera.storage import keys

__all__ = ["COOKIE", "CsrfForm", "LoginRequired", "UiAccess", "UiUser", "csrf_token", "login_response",
           "require_csrf", "safe_next", "ui_user"]

COOKIE = "itinera_session"
_CSRF_CONTEXT = b"itinera-ui-csrf"


class LoginRequired(Exception):
    """No session, or one that is unknown, expired or of a revoked key: the browser is sent to
    the login page."""

    def __init__(self, next: str) -> None:
        super().__init__(next)
        self.next = next


class UiUser:
    """The signed-in key: its listing and the form token derived from the session."""

    def __init__(self, session: str, found: keys.ApiKey) -> None:
        self.name = found.name
        self.key_id = found.id
        self.scope = found.scope
        self.csrf = csrf_token(session)


def csrf_token(session: str) -> str:
    return hmac.new(session.encode(), _CSRF_CONTEXT, hashlib.sha256).hexdigest()[:40]


def safe_next(next: str | None) -> str:
    """Where to go after signing in: a UI path of this site, never another site."""
    if next and next.startswith("/ui") and not next.startswith("//"):
        return next
    return "/ui/"


class UiAccess:
    """A dependency: the signed-in key if its scope allows ``needed_scope`` (403 otherwise),
    or a redirect to the login page (see :class:`LoginRequired`)."""

    def __init__(self, needed_scope: str) -> None:
        self.needed_scope = needed_scope

    def __call__(self, request: Request,
                 context: Annotated[ApiContext, Depends(get_context)]) -> UiUser:
        session = request.cookies.get(COOKIE)
        found = None
        if session:
            with context.read() as connection:
                found = keys.find_session(connection, session, context.now())
        if session is None or found is None:
            path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise LoginRequired(path)
        check_scope(found, self.needed_scope)
        request.state.actor = Actor("key", found.id, found.name,
                                    request.client.host if request.client else None)
        return UiUser(session, found)


ui_user = UiAccess("read")
"""Every page's dependency: a key that may read."""
_ui_writer = UiAccess("write")


def require_csrf(user: Annotated[UiUser, Depends(_ui_writer)],
                 csrf: Annotated[str, Form()] = "") -> UiUser:
    """The signed-in key, for a write whose form carries its token; 403 otherwise."""
    if not hmac.compare_digest(csrf, user.csrf):
        raise ApiProblem(403, "forbidden", "the form's token is missing or wrong: reload the page")
    return user


def login_response(session: str, next: str, secure: bool) -> RedirectResponse:
    """Keep the ``session`` token in the cookie and go to ``next``."""
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(COOKIE, session, httponly=True, samesite="strict", path="/ui", secure=secure,
                        max_age=int(keys.SESSION_LIFETIME.total_seconds()))
    return response


CsrfForm = Annotated[UiUser, Depends(require_csrf)]
