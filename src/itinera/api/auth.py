"""API keys and their scopes, on every endpoint but ``/health`` (API and UI alike).

As Segment does it: HTTP Basic with the key as the user name and an empty password (what the
SDKs send as their "write key"), or ``Authorization: Bearer <key>``. Keys are made with
``itinera keys create NAME --scope SCOPE``; the store keeps only their sha256.

Each route declares the scope it needs, with ``require_scope(scope)`` (the UI's pages through
``web.auth``, which checks with :func:`check_scope` too): ``GRANTS`` says what each key scope
allows, and a key whose scope does not allow it gets 403 naming the scope needed.
:func:`route_scopes` reads a route's declaration back (a test checks every route has one).
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant

from itinera.api.context import ApiContext, get_context
from itinera.api.problems import ApiProblem
from itinera.domain.actor import Actor
from itinera.storage import keys
from itinera.storage.keys import SCOPES

__all__ = [
    "ADMIN",
    "APPROVE",
    "CHALLENGE",
    "EDIT",
    "GRANTS",
    "INGEST",
    "PUBLISH",
    "READ",
    "SECURITY_SCHEMES",
    "WRITE",
    "ScopeCheck",
    "actor_of",
    "check_scope",
    "key_of",
    "require_scope",
    "route_scopes",
]

GRANTS: dict[str, frozenset[str]] = {
    "ingest": frozenset({"ingest"}),  # Segment's /v1 and the bulk ingestion writes only
    "read": frozenset({"read"}),  # every read
    "write": frozenset({"ingest", "read", "write"}),  # running journeys, tasks, deliveries
    "admin": frozenset(SCOPES),  # everything, keys and workspace settings included
}

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


def _unauthorized(detail: str) -> ApiProblem:
    return ApiProblem(401, "unauthorized", detail, headers={"WWW-Authenticate": CHALLENGE})


def check_scope(key: keys.ApiKey, needed: str) -> None:
    """403 naming ``needed`` unless ``key``'s scope allows it."""
    if needed not in GRANTS.get(key.scope, frozenset()):
        raise ApiProblem(403, "forbidden", f"this needs a key with the scope '{needed}' (or "
                                           f"'admin'); this key's scope is '{key.scope}'")


class ScopeCheck:
    """A dependency: the caller's active API key if its scope allows ``needed_scope``; 401
    without a valid key, 403 when the scope does not allow it."""

    def __init__(self, needed_scope: str) -> None:
        if needed_scope not in SCOPES:
            raise ValueError(f"unknown scope {needed_scope!r}")
        self.needed_scope = needed_scope

    def __call__(self, request: Request,
                 context: Annotated[ApiContext, Depends(get_context)]) -> keys.ApiKey:
        key = key_of(request.headers.get("authorization"))
        if key is None:
            raise _unauthorized("send an API key: HTTP Basic with the key as the user name and "
                                "an empty password, or 'Authorization: Bearer <key>'")
        with context.read() as connection:
            found = keys.find_api_key(connection, key)
        if found is None:
            raise _unauthorized("the API key is unknown or revoked")
        check_scope(found, self.needed_scope)
        request.state.actor = Actor("key", found.id, found.name, _address(request))
        return found


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None


def actor_of(request: Request) -> Actor:
    """Who makes this request: set by the access check the route declared (API key or UI
    session). Routes that record who changed something (audit, reviews, versions) read it."""
    actor: Actor | None = getattr(request.state, "actor", None)
    if actor is None:
        raise RuntimeError("actor_of: the route declares no access check")
    return actor


def require_scope(scope: str) -> Any:
    """``Depends`` on a :class:`ScopeCheck`: for a route's or a router's ``dependencies``."""
    return Depends(ScopeCheck(scope))


INGEST = [require_scope("ingest")]
READ = [require_scope("read")]
WRITE = [require_scope("write")]
ADMIN = [require_scope("admin")]
"""A route's ``dependencies=``: the scope it needs."""
# What the studio's and the team features' routes declare. Until users with roles exist they are
# the ``write`` scope; roles (viewer, editor, approver, admin) tell them apart.
EDIT = WRITE  # drafts of journeys, segments and templates; running tests and previews
PUBLISH = WRITE  # publishing, enabling, pausing, rolling back, moving in-flight enrollments
APPROVE = WRITE  # approving or rejecting content under review


def route_scopes(dependant: Dependant) -> set[str]:
    """The scopes a route (its ``dependant``) declares, through any of its dependencies."""
    found: set[str] = set()
    scope = getattr(dependant.call, "needed_scope", None)
    if isinstance(scope, str):
        found.add(scope)
    for sub in dependant.dependencies:
        found |= route_scopes(sub)
    return found

