"""Unsubscribe tokens and links.

A token names a person and carries an HMAC-SHA256 of that name under the unsubscribe secret, so
it cannot be forged or altered; it does not expire (an unsubscribe link in an old email must
still work). Tokens are URL-safe: ``<base64url(person id)>.<base64url(mac)>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from urllib.parse import quote

from itinera.channels.settings import UnsubscribeSettings

__all__ = ["make_token", "unsubscribe_mailto", "unsubscribe_url", "verify_token"]

_DOMAIN = b"itinera-unsubscribe-v1\x00"  # separates these MACs from any other use of the secret


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(person_id: bytes, secret: str) -> bytes:
    return hmac.new(secret.encode("utf-8"), _DOMAIN + person_id, hashlib.sha256).digest()


def make_token(person_id: str, secret: str) -> str:
    """The unsubscribe token of a person."""
    if not secret:
        raise ValueError("the unsubscribe secret must not be empty")
    raw = person_id.encode("utf-8")
    return f"{_b64(raw)}.{_b64(_mac(raw, secret))}"


def verify_token(token: str, secret: str) -> str | None:
    """The person a token names, or None when it is malformed, altered or signed otherwise."""
    if not secret or token.count(".") != 1:
        return None
    encoded, signature = token.split(".")
    try:
        raw, given = _unb64(encoded), _unb64(signature)
        person_id = raw.decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    if _b64(raw) != encoded or _b64(given) != signature:
        return None  # only the canonical spelling of a token is accepted
    if not hmac.compare_digest(given, _mac(raw, secret)):
        return None
    return person_id


def unsubscribe_url(settings: UnsubscribeSettings, person_id: str) -> str:
    """The one-click unsubscribe link of a person (``<base_url>?token=...``)."""
    token = make_token(person_id, settings.secret.get_secret_value())
    separator = "&" if "?" in settings.base_url else "?"
    return f"{settings.base_url}{separator}token={quote(token, safe='')}"


def unsubscribe_mailto(settings: UnsubscribeSettings, person_id: str) -> str | None:
    """The ``mailto:`` unsubscribe alternative, when ``settings.mailto`` is configured."""
    if settings.mailto is None:
        return None
    token = make_token(person_id, settings.secret.get_secret_value())
    return f"mailto:{settings.mailto}?subject={quote('unsubscribe ' + token, safe='')}"
