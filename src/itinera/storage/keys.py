"""API keys with their scopes, and the UI's sessions.

A key is ``itk_<id>_<secret>``; the store keeps only its sha256, so it is shown once, to its
creator. Its scope says what it may do (``SCOPES``; what each allows is decided in
``api.auth``). A session is what a signed-in browser holds instead of the key: a random token
in its cookie, kept here as its sha256 with the key it stands for and an expiry; revoking the
key ends its sessions.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from itinera.storage import schema as t
from itinera.timeutil import format_instant

__all__ = [
    "SCOPES",
    "SESSION_LIFETIME",
    "ApiKey",
    "api_keys",
    "create_api_key",
    "create_session",
    "delete_session",
    "find_api_key",
    "find_session",
    "hash_key",
    "instant_text",
    "revoke_api_key",
]

SCOPES = ("ingest", "bounces", "read", "write", "admin")
"""From the narrowest: ``ingest`` (tracking and bulk ingestion writes, safe to embed in a
browser), ``bounces`` (an email service's bounce and complaint webhooks only: they suppress
addresses, so never the public ingest key), ``read`` (every read), ``write`` (read, ingest and
running journeys), ``admin``."""
SESSION_LIFETIME = timedelta(hours=12)
_KEY_PREFIX = "itk"


def instant_text(value: datetime | None) -> str | None:
    if value is None:
        return None
    return format_instant(value.replace(tzinfo=UTC) if value.tzinfo is None else value)


@dataclass(frozen=True)
class ApiKey:
    """A key as listed: never the key itself, which only its creator saw."""

    id: str
    name: str
    created_at: str | None
    revoked_at: str | None
    scope: str = "admin"
    rate_limit: float | None = None  # requests per second (ingest routes); None: the setting's


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(conn: sa.Connection, name: str, now: datetime, scope: str = "admin", *,
                   rate_limit: float | None = None) -> tuple[str, str]:
    """A new key ``itk_<id>_<secret>`` with ``scope`` (and its own ``rate_limit``, requests per
    second on the ingestion routes): returns (id, key). Only its sha256 is stored."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}: one of {', '.join(SCOPES)}")
    if rate_limit is not None and not 0 < rate_limit <= 1_000_000:
        raise ValueError("a rate limit is a number of requests per second, above 0")
    id = secrets.token_hex(6)
    key = f"{_KEY_PREFIX}_{id}_{secrets.token_urlsafe(32)}"
    conn.execute(sa.insert(t.api_keys).values(id=id, name=name, secret_hash=hash_key(key),
                                              created_at=now, revoked_at=None, scope=scope,
                                              rate_limit=rate_limit))
    return id, key


def _listed(row: sa.Row[tuple[object, ...]]) -> ApiKey:
    return ApiKey(row.id, row.name, instant_text(row.created_at), instant_text(row.revoked_at),
                  row.scope, row.rate_limit)


def find_api_key(conn: sa.Connection, key: str) -> ApiKey | None:
    """The active key ``key`` is, or None (unknown, malformed or revoked)."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != _KEY_PREFIX:
        return None
    row = conn.execute(sa.select(t.api_keys).where(t.api_keys.c.id == parts[1])).first()
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.secret_hash, hash_key(key)):
        return None
    return _listed(row)


def api_keys(conn: sa.Connection) -> list[ApiKey]:
    rows = conn.execute(sa.select(t.api_keys).order_by(t.api_keys.c.created_at, t.api_keys.c.id))
    return [_listed(r) for r in rows]


def revoke_api_key(conn: sa.Connection, id: str, now: datetime) -> bool:
    """Revoke the key ``id`` and end its sessions; False when there is no such active key."""
    result = conn.execute(sa.update(t.api_keys).where(
        t.api_keys.c.id == id, t.api_keys.c.revoked_at.is_(None)).values(revoked_at=now))
    conn.execute(sa.delete(t.sessions).where(t.sessions.c.key_id == id))
    return bool(result.rowcount)


def create_session(conn: sa.Connection, key_id: str, now: datetime) -> str:
    """A new session for the key ``key_id``: returns its token (for the cookie; only its
    sha256 is stored). Expired sessions are removed on the way."""
    conn.execute(sa.delete(t.sessions).where(t.sessions.c.expires_at <= now))
    token = secrets.token_urlsafe(32)
    conn.execute(sa.insert(t.sessions).values(id=hash_key(token), key_id=key_id, created_at=now,
                                              expires_at=now + SESSION_LIFETIME))
    return token


def find_session(conn: sa.Connection, token: str, now: datetime) -> ApiKey | None:
    """The active key of the unexpired session ``token``, or None."""
    row = conn.execute(
        sa.select(t.api_keys).join(t.sessions, t.sessions.c.key_id == t.api_keys.c.id).where(
            t.sessions.c.id == hash_key(token), t.sessions.c.expires_at > now,
            t.api_keys.c.revoked_at.is_(None))).first()
    return None if row is None else _listed(row)


def delete_session(conn: sa.Connection, token: str) -> None:
    conn.execute(sa.delete(t.sessions).where(t.sessions.c.id == hash_key(token)))
