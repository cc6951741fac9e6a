"""API keys on every endpoint but ``/health``.

As Segment does it: HTTP Basic with the key as the user name and an empty password (what the
SDKs send as their "write key"), or ``Authorization: Bearer <key>``. Keys are made with
``itinera keys create NAME``; the store keeps only their sha256.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import Depends, Request

from itinera.api.context import ApiContext, get_context
from itinera.api.problems import ApiProblem
from itinera.storage import queries

__all__ = ["CHALLENGE", "SECURITY_SCHEMES", "key_of", "require_key"]

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


def require_key(request: Request,
                context: Annotated[ApiContext, Depends(get_context)]) -> queries.ApiKey:
    """The caller's active API key, or 401."""
    key = key_of(request.headers.get("authorization"))
    if key is None:
        raise _unauthorized("send an API key: HTTP Basic with the key as the user name and an "
                            "empty password, or 'Authorization: Bearer <key>'")
    with context.read() as connection:
        found = queries.find_api_key(connection, key)
    if found is None:
        raise _unauthorized("the API key is unknown or revoked")
    return found
