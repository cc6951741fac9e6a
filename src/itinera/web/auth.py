"""Signing in to the UI (a user's name and password, or an API key), sessions, and keeping
writes from other sites out.

The login form POSTs: a password or key is never in an address (so never in an access log).
Signing in makes a server-side session (``storage.users``, ``storage.keys``): the cookie holds
only its random token, which scripts cannot read (HttpOnly), browsers send only on requests
started from this site's own pages (SameSite=Strict), and only over https when the UI is served
so (Secure). Its path is ``/`` so that the studio's pages can call the API with it. Every page
checks the session against the store: it expires, signing out deletes it, and disabling the
user, changing their password or revoking the key ends it.

Who may do what is decided by ``api.auth`` (:data:`~itinera.api.auth.PERMISSIONS`) for the UI
as for the API: pages need ``read``; writes (POST forms) declare theirs with :func:`form`
(``EditForm``, ``PublishForm``, ``ApproveForm``, ``AdminForm``). Besides SameSite=Strict, each
form carries a token derived from the session (HMAC-SHA256), which a page of another site
cannot know: a write without it is refused (403).
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import Depends, Form, Request
from fastapi.responses import RedirectResponse

from itinera.api.auth import ALIASES, COOKIE, PERMISSIONS, Caller, actor_for, allows, check_scope, csrf_token
from itinera.api.context import ApiContext, get_context
from itinera.api.problems import ApiProblem
from itinera.storage import keys, users

__all__ = ["COOKIE", "AdminForm", "ApproveForm", "CsrfForm", "EditForm", "FormAccess", "LoginRequired",
           "PublishForm", "UiAccess", "UiUser", "csrf_token", "form", "login_response",
           "safe_next", "ui_admin", "ui_user"]


class LoginRequired(Exception):
    """No session, or one that is unknown, expired, signed out, of a disabled user or of a
    revoked key: the browser is sent to the login page."""

    def __init__(self, next: str) -> None:
        super().__init__(next)
        self.next = next


class UiUser:
    """Who is signed in (a user, or a key), with the form token derived from the session."""

    def __init__(self, session: str, found: Caller) -> None:
        self.caller = found
        self.name = found.name
        self.id = found.id
        self.is_user = isinstance(found, users.User)
        self.role = found.role if isinstance(found, users.User) else None
        self.scope = found.scope if isinstance(found, keys.ApiKey) else None
        self.key_id = None if self.is_user else found.id
        self.csrf = csrf_token(session)

    @property
    def what(self) -> str:
        """The role (``editor``) or ``API key, scope write``: beside the name in the top bar."""
        return f"{self.role}" if self.is_user else f"API key, scope {self.scope}"

    def may(self, permission: str) -> bool:
        """Whether the pages should offer what needs ``permission`` (the routes check it)."""
        return allows(self.caller, permission)


def safe_next(next: str | None) -> str:
    """Where to go after signing in: a UI path of this site, never another site."""
    if next and next.startswith("/ui") and not next.startswith("//"):
        return next
    return "/ui/"


class UiAccess:
    """A dependency: who is signed in, if they hold ``permission`` (403 otherwise), or a
    redirect to the login page (see :class:`LoginRequired`)."""

    def __init__(self, permission: str) -> None:
        permission = ALIASES.get(permission, permission)  # "write": as api.auth.WRITE
        if permission not in PERMISSIONS:
            raise ValueError(f"unknown permission {permission!r}")
        self.permission = permission

    def __call__(self, request: Request,
                 context: Annotated[ApiContext, Depends(get_context)]) -> UiUser:
        session = request.cookies.get(COOKIE)
        found = None
        if session:
            with context.read() as connection:
                found = users.find_signed_in(connection, session, context.now())
        if session is None or found is None:
            path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise LoginRequired(path)
        check_scope(found, self.permission)
        request.state.actor = actor_for(found, request)
        return UiUser(session, found)


ui_user = UiAccess("read")
"""Every page's dependency: someone who may read."""
ui_admin = UiAccess("admin")
"""The admin pages' dependency (users, keys)."""


class FormAccess(UiAccess):
    """A dependency for a UI write that needs ``permission``: the signed-in user, for a form
    that carries their form token; 403 otherwise."""

    def __call__(self, request: Request,
                 context: Annotated[ApiContext, Depends(get_context)],
                 csrf: Annotated[str, Form()] = "") -> UiUser:
        user = super().__call__(request, context)
        if not hmac.compare_digest(csrf, user.csrf):
            raise ApiProblem(403, "forbidden", "the form's token is missing or wrong: reload "
                                               "the page")
        return user


def form(permission: str) -> Any:
    """``Depends`` on a :class:`FormAccess`: ``Annotated[UiUser, form("edit")]``."""
    return Depends(FormAccess(permission))


EditForm = Annotated[UiUser, form("edit")]
PublishForm = Annotated[UiUser, form("publish")]
ApproveForm = Annotated[UiUser, form("approve")]
AdminForm = Annotated[UiUser, form("admin")]
CsrfForm = PublishForm
"""The writes declared before roles: running journeys (as ``api.auth.WRITE``)."""


def login_response(session: str, next: str, secure: bool) -> RedirectResponse:
    """Keep the ``session`` token in the cookie and go to ``next``."""
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(COOKIE, session, httponly=True, samesite="strict", path="/", secure=secure,
                        max_age=int(keys.SESSION_LIFETIME.total_seconds()))
    return response
