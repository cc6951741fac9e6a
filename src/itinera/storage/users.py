"""Users: people who sign in with a name and a password, each with a role, and their sessions.

A password is kept only as its argon2id hash (argon2-cffi's defaults); checking one for a name
that does not exist costs as much as for one that does, so timing does not tell names apart.
Disabling a user or changing their password ends their sessions; so does signing out
everywhere. What each role may do is decided in ``api.auth``. Sessions are the table the UI's
key sessions use (``storage.keys``): a session stands for a key or for a user.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from itinera.storage import keys
from itinera.storage import schema as t

__all__ = [
    "NAME_PATTERN",
    "PASSWORD_MAX",
    "PASSWORD_MIN",
    "ROLES",
    "User",
    "UserError",
    "check_password",
    "create_user",
    "create_user_session",
    "disable_user",
    "end_sessions",
    "find_signed_in",
    "find_user",
    "set_password",
    "set_role",
    "users",
]

ROLES = ("viewer", "editor", "approver", "admin")
"""From the narrowest: ``viewer`` reads everything, ``editor`` drafts and tests, ``approver``
approves and publishes, ``admin`` manages users, keys and the workspace (docs/security.md)."""
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._@+-]{0,63}")
PASSWORD_MIN = 10
PASSWORD_MAX = 1024  # argon2 takes any length; a bound keeps each sign-in's work bounded


class UserError(ValueError):
    """A user that cannot be made or changed so (the message says why)."""


@dataclass(frozen=True)
class User:
    """A user as listed: never their password or its hash."""

    id: str
    name: str
    role: str
    created_at: str | None
    disabled_at: str | None = None


def _hasher() -> PasswordHasher:
    return PasswordHasher()  # argon2id, RFC 9106's low-memory profile (64 MiB, 3 passes)


# What an unknown name is checked against, so that it takes as long as a known one.
# (The hash of a random string nobody kept.)
_ABSENT = "$argon2id$v=19$m=65536,t=3,p=4$niay2JhCFibpCr0enn5m5A$nH/YsnI3eBapWMqoKGo1BMurYIBq3BZ4Zl7d5Ol6VgY"


def _name(name: str) -> str:
    name = name.strip().lower()
    if not NAME_PATTERN.fullmatch(name):
        raise UserError("a user name is 1 to 64 characters: letters, digits and . _ @ + - "
                        "(starting with a letter or digit)")
    return name


def _role(role: str) -> str:
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}: one of {', '.join(ROLES)}")
    return role


def _password(password: str) -> str:
    if len(password) < PASSWORD_MIN:
        raise UserError(f"a password is at least {PASSWORD_MIN} characters")
    if len(password) > PASSWORD_MAX:
        raise UserError(f"a password is at most {PASSWORD_MAX} characters")
    return password


def _listed(row: sa.Row[tuple[object, ...]]) -> User:
    return User(row.id, row.name, row.role, keys.instant_text(row.created_at),
                keys.instant_text(row.disabled_at))


def create_user(conn: sa.Connection, name: str, password: str, role: str,
                now: datetime) -> User:
    """A new user; :class:`UserError` for a bad or taken name, a bad role or password."""
    name, role, password = _name(name), _role(role), _password(password)
    if find_user(conn, name) is not None:
        raise UserError(f"there is already a user {name!r}")
    id = secrets.token_hex(6)
    conn.execute(sa.insert(t.users).values(id=id, name=name, role=role, created_at=now,
                                           password_hash=_hasher().hash(password)))
    found = find_user(conn, name)
    assert found is not None
    return found


def find_user(conn: sa.Connection, name: str) -> User | None:
    """The user ``name`` (as typed: case and surrounding spaces do not matter), or None."""
    row = conn.execute(sa.select(t.users).where(t.users.c.name == name.strip().lower())).first()
    return None if row is None else _listed(row)


def users(conn: sa.Connection) -> list[User]:
    rows = conn.execute(sa.select(t.users).order_by(t.users.c.name))
    return [_listed(r) for r in rows]


def check_password(conn: sa.Connection, name: str, password: str) -> User | None:
    """The active user ``name`` if ``password`` is theirs, else None (unknown name, wrong
    password, disabled user: the same answer, after the same work)."""
    row = conn.execute(sa.select(t.users).where(
        t.users.c.name == name.strip().lower())).first() if len(name) <= 256 else None
    try:
        _hasher().verify(row.password_hash if row is not None else _ABSENT, password[:PASSWORD_MAX])
    except (VerificationError, InvalidHashError):
        return None
    if row is None or row.disabled_at is not None:
        return None
    return _listed(row)


def _change(conn: sa.Connection, name: str, **values: object) -> User | None:
    found = find_user(conn, name)
    if found is None:
        return None
    conn.execute(sa.update(t.users).where(t.users.c.id == found.id).values(**values))
    return find_user(conn, name)


def set_role(conn: sa.Connection, name: str, role: str) -> User | None:
    """Give ``name`` the role ``role`` (from their next request on); None: no such user."""
    return _change(conn, name, role=_role(role))


def set_password(conn: sa.Connection, name: str, password: str) -> User | None:
    """Give ``name`` a new password and end their sessions; None: no such user."""
    changed = _change(conn, name, password_hash=_hasher().hash(_password(password)))
    if changed is not None:
        end_sessions(conn, user_id=changed.id)
    return changed


def disable_user(conn: sa.Connection, name: str, now: datetime, disabled: bool = True) -> User | None:
    """Disable ``name`` (no sign-in, their sessions end) or enable them again; None: no such
    user."""
    changed = _change(conn, name, disabled_at=now if disabled else None)
    if changed is not None and disabled:
        end_sessions(conn, user_id=changed.id)
    return changed


def create_user_session(conn: sa.Connection, user_id: str, now: datetime) -> str:
    """A new session for the user ``user_id``: returns its token (for the cookie; only its
    sha256 is stored). Expired sessions are removed on the way."""
    conn.execute(sa.delete(t.sessions).where(t.sessions.c.expires_at <= now))
    token = secrets.token_urlsafe(32)
    conn.execute(sa.insert(t.sessions).values(id=keys.hash_key(token), user_id=user_id,
                                              created_at=now,
                                              expires_at=now + keys.SESSION_LIFETIME))
    return token


def end_sessions(conn: sa.Connection, *, user_id: str | None = None,
                 key_id: str | None = None) -> int:
    """End every session of a user or of a key (signing out everywhere); how many there were."""
    column = t.sessions.c.user_id if user_id is not None else t.sessions.c.key_id
    result = conn.execute(sa.delete(t.sessions).where(column == (user_id or key_id)))
    return int(result.rowcount or 0)


def find_signed_in(conn: sa.Connection, token: str, now: datetime) -> User | keys.ApiKey | None:
    """Who the unexpired session ``token`` stands for: an active user or an active key; None
    when it is unknown, expired, or its user is disabled or its key revoked."""
    row = conn.execute(sa.select(t.sessions.c.user_id, t.sessions.c.key_id).where(
        t.sessions.c.id == keys.hash_key(token), t.sessions.c.expires_at > now)).first()
    if row is None:
        return None
    if row.user_id is None:
        return keys.find_session(conn, token, now)
    user = conn.execute(sa.select(t.users).where(t.users.c.id == row.user_id,
                                                 t.users.c.disabled_at.is_(None))).first()
    return None if user is None else _listed(user)
