"""Who may do what, checked in one place for the API and the UI alike.

A caller is an API key or a signed-in user. A key comes as Segment sends it: HTTP Basic with the
key as the user name and an empty password (the SDKs' "write key"), or ``Authorization: Bearer
<key>``; the store keeps only its sha256. A user (or a key signed in to the UI) comes with the
UI's session cookie: the studio's pages call the API so, and their writes carry the session's
form token in the ``X-CSRF-Token`` header (a page of another site cannot know it).

Each route declares the permission it needs (``dependencies=READ``, ``EDIT``, ``PUBLISH``,
``APPROVE``, ``ADMIN``, ``INGEST``; the UI's pages through ``web.auth``). :data:`PERMISSIONS`
is the one table saying which roles of users and which scopes of keys hold each permission; a
caller without it gets 403 naming the role and the scope it needs. :func:`route_scopes` reads a
route's declaration back (a test walks every route with every role and scope).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant

from itinera.api.context import ApiContext, get_context
from itinera.api.problems import ApiProblem
from itinera.api.rate_limits import RateLimits
from itinera.domain.actor import Actor
from itinera.storage import keys, users
from itinera.storage.keys import SCOPES
from itinera.storage.users import ROLES

__all__ = [
    "ADMIN",
    "ALIASES",
    "APPROVE",
    "BOUNCES",
    "CHALLENGE",
    "COOKIE",
    "CSRF_HEADER",
    "EDIT",
    "GRANTS",
    "INGEST",
    "PERMISSIONS",
    "PUBLISH",
    "READ",
    "ROLE_GRANTS",
    "SECURITY_SCHEMES",
    "WRITE",
    "Caller",
    "Permission",
    "ScopeCheck",
    "actor_for",
    "actor_of",
    "allows",
    "check_scope",
    "csrf_token",
    "key_of",
    "require_scope",
    "route_scopes",
]

Caller = keys.ApiKey | users.User
"""Who calls: a key, or a user signed in to the UI."""


@dataclass(frozen=True)
class Permission:
    """The roles of users and the scopes of keys that hold a permission, narrowest first."""

    roles: tuple[str, ...]
    scopes: tuple[str, ...]


PERMISSIONS: dict[str, Permission] = {
    # Segment's /v1 and the bulk ingestion writes: a website's key; people do not ingest.
    "ingest": Permission(("admin",), ("ingest", "write", "admin")),
    # An email service's bounce and complaint webhooks: they suppress addresses, so a key of
    # their own (scope bounces), never the website's public ingest key.
    "bounces": Permission(("admin",), ("bounces", "admin")),
    "read": Permission(("viewer", "editor", "approver", "admin"), ("read", "write", "admin")),
    # Drafts of journeys, segments and templates; tests, previews, validation; tasks.
    "edit": Permission(("editor", "approver", "admin"), ("write", "admin")),
    # Publishing and running journeys: enable, pause, resume, disable, roll back, move
    # enrollments; retrying deliveries; raw inputs.
    "publish": Permission(("approver", "admin"), ("write", "admin")),
    # Content under review: a person's judgement, so no key but admin's — a `write` key (CI,
    # scripts) approving would also let one person submit as a user and approve as a key.
    "approve": Permission(("approver", "admin"), ("admin",)),
    "admin": Permission(("admin",), ("admin",)),  # users, keys, workspace settings
}
"""The one table of who may do what (docs/security.md shows it)."""
ALIASES = {"write": "publish"}  # the declaration before roles: running journeys

GRANTS: dict[str, frozenset[str]] = {
    scope: frozenset(p for p, held in PERMISSIONS.items() if scope in held.scopes)
    for scope in SCOPES}
"""What each key scope allows (from :data:`PERMISSIONS`)."""
ROLE_GRANTS: dict[str, frozenset[str]] = {
    role: frozenset(p for p, held in PERMISSIONS.items() if role in held.roles) for role in ROLES}
"""What each role allows (from :data:`PERMISSIONS`)."""

COOKIE = "itinera_session"
CSRF_HEADER = "X-CSRF-Token"
_CSRF_CONTEXT = b"itinera-ui-csrf"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CHALLENGE = 'Basic realm="itinera", Bearer realm="itinera"'
SECURITY_SCHEMES = {
    "apiKeyBasic": {"type": "http", "scheme": "basic",
                    "description": "The API key as the user name, an empty password."},
    "apiKeyBearer": {"type": "http", "scheme": "bearer",
                     "description": "The API key as a bearer token."},
}


def key_of(authorization: str | None) -> str | None:
    """The key an ``Authorization`` header carries, or None."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer":
        return value or None
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, _, password = decoded.partition(":")
    return user or password or None


def csrf_token(session: str) -> str:
    """The form token of a session (HMAC-SHA256 of it): UI forms and the studio's API writes
    carry it."""
    return hmac.new(session.encode(), _CSRF_CONTEXT, hashlib.sha256).hexdigest()[:40]


def _unauthorized(detail: str) -> ApiProblem:
    return ApiProblem(401, "unauthorized", detail, headers={"WWW-Authenticate": CHALLENGE})


def _either(names: tuple[str, ...], kind: str) -> str:
    wider = f" (or {', '.join(repr(n) for n in names[1:])})" if len(names) > 1 else ""
    return f"the {kind} '{names[0]}'{wider}"


def allows(caller: Caller, permission: str) -> bool:
    """Whether ``caller`` (a key by its scope, a user by their role) holds ``permission``."""
    held = PERMISSIONS[ALIASES.get(permission, permission)]
    if isinstance(caller, users.User):
        return caller.role in held.roles
    return caller.scope in held.scopes


def check_scope(caller: Caller, needed: str) -> None:
    """403 naming the role and the scope ``needed`` takes, unless ``caller`` holds it."""
    if allows(caller, needed):
        return
    held = PERMISSIONS[ALIASES.get(needed, needed)]
    role, scope = _either(held.roles, "role"), _either(held.scopes, "scope")
    if isinstance(caller, users.User):
        detail = (f"this needs {role} (a key: {scope}); your role is '{caller.role}'")
    else:
        detail = (f"this needs a key with {scope} (a user: {role}); this key's scope is "
                  f"'{caller.scope}'")
    raise ApiProblem(403, "forbidden", detail)


def actor_for(caller: Caller, request: Request) -> Actor:
    """The :class:`Actor` of a request made by ``caller``."""
    address = request.client.host if request.client else None
    return Actor("user" if isinstance(caller, users.User) else "key", caller.id, caller.name,
                 address)


class ScopeCheck:
    """A dependency: the caller (a key, or a user by the UI's session) if they hold
    ``permission``; 401 without valid credentials, 403 without the permission, 429 when a key
    goes beyond its rate on the ingestion routes (``api.rate_limits``)."""

    def __init__(self, permission: str) -> None:
        permission = ALIASES.get(permission, permission)
        if permission not in PERMISSIONS:
            raise ValueError(f"unknown permission {permission!r}")
        self.permission = permission

    def __call__(self, request: Request,
                 context: Annotated[ApiContext, Depends(get_context)]) -> Caller:
        key = key_of(request.headers.get("authorization"))
        session = request.cookies.get(COOKIE)
        found: Caller | None = None
        if key is not None:
            with context.read() as connection:
                found = keys.find_api_key(connection, key)
            if found is None:
                raise _unauthorized("the API key is unknown or revoked")
        elif session:
            with context.read() as connection:
                found = users.find_signed_in(connection, session, context.now())
            if found is None:
                raise _unauthorized("the session has expired or was signed out: sign in again")
            if request.method not in _SAFE_METHODS and not hmac.compare_digest(
                    request.headers.get(CSRF_HEADER, ""), csrf_token(session)):
                raise ApiProblem(403, "forbidden", f"a write with the UI's session carries its "
                                 f"form token in the {CSRF_HEADER} header")
        else:
            raise _unauthorized("send an API key: HTTP Basic with the key as the user name and "
                                "an empty password, or 'Authorization: Bearer <key>'")
        check_scope(found, self.permission)
        limits: RateLimits | None = getattr(request.app.state, "rate_limits", None)
        if self.permission == "ingest" and isinstance(found, keys.ApiKey) and limits:
            wait = limits.take(found)
            if wait is not None:
                raise ApiProblem(429, "too-many-requests", f"this key may make "
                                 f"{limits.rate_of(found):g} requests per second here: retry "
                                 "later", headers={"Retry-After": limits.retry_after(wait)})
        request.state.actor = actor_for(found, request)
        return found


def actor_of(request: Request) -> Actor:
    """Who makes this request: set by the access check the route declared (API key, user or
    UI session). Routes that record who changed something (audit, reviews, versions) read it."""
    found: Actor | None = getattr(request.state, "actor", None)
    if found is None:
        raise RuntimeError("actor_of: the route declares no access check")
    return found


def require_scope(permission: str) -> Any:
    """``Depends`` on a :class:`ScopeCheck`: for a route's or a router's ``dependencies``."""
    return Depends(ScopeCheck(permission))


INGEST = [require_scope("ingest")]
BOUNCES = [require_scope("bounces")]
READ = [require_scope("read")]
EDIT = [require_scope("edit")]
PUBLISH = [require_scope("publish")]
APPROVE = [require_scope("approve")]
ADMIN = [require_scope("admin")]
"""A route's ``dependencies=``: the permission it needs."""
WRITE = PUBLISH  # what routes declared before roles: running journeys (approver, scope write)


def route_scopes(dependant: Dependant) -> set[str]:
    """The permissions a route (its ``dependant``) declares, through any of its dependencies."""
    found: set[str] = set()
    permission = getattr(dependant.call, "permission", None)
    if isinstance(permission, str):
        found.add(permission)
    for sub in dependant.dependencies:
        found |= route_scopes(sub)
    return found
