"""``GET /api/me``: who the caller is and what they may do, so that a page (the studio) offers
only what its user may use. The routes check for themselves; this only informs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel

from itinera.api.auth import PERMISSIONS, READ, Caller, allows
from itinera.storage import users

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["service"])


class Me(BaseModel):
    kind: str  # user | key
    id: str
    name: str
    role: str | None  # a user's
    scope: str | None  # a key's
    permissions: list[str]  # of api.auth.PERMISSIONS: read, edit, publish, approve, admin, ingest


@router.get("/me", response_model=Me)
def me(caller: Annotated[Caller, READ[0]]) -> dict[str, Any]:
    """The caller (a user signed in to the UI, or a key), their role or scope, and the
    permissions they hold."""
    is_user = isinstance(caller, users.User)
    return {"kind": "user" if is_user else "key", "id": caller.id, "name": caller.name,
            "role": caller.role if isinstance(caller, users.User) else None,
            "scope": None if isinstance(caller, users.User) else caller.scope,
            "permissions": [p for p in PERMISSIONS if allows(caller, p)]}
