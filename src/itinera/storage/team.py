"""Changes to users and keys as people make them (the CLI, the admin pages): each change and its
audit entry in one transaction (``storage.audit``), before/after without any secret."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from itinera.domain.actor import Actor
from itinera.storage import audit, keys, users

__all__ = ["create_key", "create_user", "reset_password", "revoke_key", "set_disabled",
           "set_role"]


def _shown(user: users.User) -> dict[str, object]:
    return {"name": user.name, "role": user.role, "disabled": user.disabled_at is not None}


def create_user(conn: sa.Connection, actor: Actor, name: str, password: str, role: str,
                now: datetime) -> users.User:
    made = users.create_user(conn, name, password, role, now)
    audit.record(conn, actor, "user_create", ("user", made.name), after=_shown(made), at=now)
    return made


def set_role(conn: sa.Connection, actor: Actor, name: str, role: str,
             now: datetime) -> users.User | None:
    before = users.find_user(conn, name)
    changed = users.set_role(conn, name, role)
    if before is not None and changed is not None and before.role != changed.role:
        audit.record(conn, actor, "user_role", ("user", changed.name), before={"role": before.role},
                     after={"role": changed.role}, at=now)
    return changed


def set_disabled(conn: sa.Connection, actor: Actor, name: str, disabled: bool,
                 now: datetime) -> users.User | None:
    before = users.find_user(conn, name)
    changed = users.disable_user(conn, name, now, disabled)
    if before is not None and changed is not None and (
            (before.disabled_at is None) == disabled):
        audit.record(conn, actor, "user_disable" if disabled else "user_enable",
                     ("user", changed.name), before={"disabled": not disabled},
                     after={"disabled": disabled}, at=now)
    return changed


def reset_password(conn: sa.Connection, actor: Actor, name: str, password: str,
                   now: datetime) -> users.User | None:
    changed = users.set_password(conn, name, password)
    if changed is not None:  # that it changed, never the password
        audit.record(conn, actor, "user_password_reset", ("user", changed.name),
                     after={"sessions_ended": True}, at=now)
    return changed


def create_key(conn: sa.Connection, actor: Actor, name: str, scope: str, now: datetime,
               rate_limit: float | None = None) -> tuple[str, str]:
    """A new key (see ``keys.create_api_key``): (id, key)."""
    id, key = keys.create_api_key(conn, name, now, scope, rate_limit=rate_limit)
    audit.record(conn, actor, "key_create", ("key", id),
                 after={"name": name, "scope": scope, "rate_limit": rate_limit}, at=now)
    return id, key


def revoke_key(conn: sa.Connection, actor: Actor, id: str, now: datetime) -> bool:
    found = next((k for k in keys.api_keys(conn) if k.id == id), None)
    revoked = keys.revoke_api_key(conn, id, now)
    if revoked and found is not None:
        audit.record(conn, actor, "key_revoke", ("key", id),
                     before={"name": found.name, "scope": found.scope, "revoked": False},
                     after={"revoked": True}, at=now)
    return revoked
