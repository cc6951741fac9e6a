"""Click and open tracking, and the VERP return path: signed tokens and the rewriting of an
email's links.

A tracked link is ``<base>/t/c/<token>``, the open pixel ``<base>/t/o/<token>``. The token holds
what it stands for — the kind (``c`` click, ``o`` open), the effect's id, the link's index and,
for a click, the target URL — with an HMAC-SHA256 of it under the unsubscribe secret and a
domain of its own (so no token of one kind passes for another, nor for an unsubscribe token).
The target of a redirect comes only from a token that verifies: nothing in a query string can
send a reader elsewhere (no open redirect). The secret is never in a URL.

The VERP return path ``bounces+<id>-<mac>@domain`` names the effect a bounce is about, in
lower-case letters and digits only: some relays change the case of an address's local part.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass
from html import escape, unescape
from typing import Any

import orjson

__all__ = [
    "Links",
    "Tracked",
    "base_url_of",
    "click_url",
    "links_of",
    "open_url",
    "rewrite_html",
    "rewrite_text",
    "verify",
    "verify_return_path",
    "verp_address",
]

_DOMAIN = b"itinera-tracking-v1\x00"
_VERP_DOMAIN = b"itinera-verp-v1\x00"
_MAX_TOKEN = 8192  # characters: a token beyond it is refused before any work
_MAX_URL = 4096
# href="..." (or '...') of an <a> element; the value is HTML text (&amp; for &).
_HREF = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)
_TEXT_URL = re.compile(r"https?://[^\s<>\"']+")
_TRAILING = ".,;:!?)]}'\""  # punctuation after a URL in prose is the sentence's, not the URL's
_BODY_CLOSE = re.compile(r"</body\s*>", re.IGNORECASE)


@dataclass(frozen=True)
class Tracked:
    """What a verified token stands for: ``kind`` ``click`` or ``open``, the effect's id, the
    link's index and its target (clicks only)."""

    kind: str
    effect: int
    link: int | None = None
    url: str | None = None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(body: bytes, secret: str, domain: bytes = _DOMAIN) -> bytes:
    return hmac.new(secret.encode("utf-8"), domain + body, hashlib.sha256).digest()


def _token(fields: list[Any], secret: str) -> str:
    if not secret:
        raise ValueError("the tracking secret must not be empty")
    body = orjson.dumps(fields)
    return f"{_b64(body)}.{_b64(_mac(body, secret))}"


def verify(token: str, secret: str) -> Tracked | None:
    """What a token stands for, or None when it is malformed, altered or signed otherwise."""
    if not secret or len(token) > _MAX_TOKEN or token.count(".") != 1:
        return None
    encoded, signature = token.split(".")
    try:
        body, given = _unb64(encoded), _unb64(signature)
    except (binascii.Error, ValueError):
        return None
    if _b64(body) != encoded or _b64(given) != signature:
        return None  # only the canonical spelling of a token is accepted
    if not hmac.compare_digest(given, _mac(body, secret)):
        return None
    try:
        fields = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    match fields:
        case ["c", int(effect), int(link), str(url)]:
            return Tracked("click", effect, link, url)
        case ["o", int(effect)]:
            return Tracked("open", effect)
    return None


def base_url_of(tracking_base: str | None, unsubscribe_base: str) -> str:
    """The base of tracked URLs: the tracking setting, else the unsubscribe link's base
    without its last path segment (``https://app.example.com/unsubscribe`` → the app)."""
    if tracking_base:
        return tracking_base.rstrip("/")
    base = unsubscribe_base.split("?", 1)[0].rstrip("/")
    head, _, _ = base.rpartition("/")
    return head if "://" in head and not head.endswith(":/") else base


def click_url(base: str, secret: str, effect: int, link: int, url: str) -> str:
    """The tracked form of link ``link`` (its index in the message) of effect ``effect``."""
    return f"{base}/t/c/{_token(['c', effect, link, url], secret)}"


def open_url(base: str, secret: str, effect: int) -> str:
    """The open pixel's URL of effect ``effect``."""
    return f"{base}/t/o/{_token(['o', effect], secret)}"


def _trackable(url: str) -> bool:
    return url.lower().startswith(("http://", "https://")) and len(url) <= _MAX_URL


class Links:
    """The links of one message, each indexed by its first appearance (HTML, then text), so a
    link in both parts has one index."""

    def __init__(self, base: str, secret: str, effect: int) -> None:
        self.base, self.secret, self.effect = base, secret, effect
        self.index: dict[str, int] = {}

    def tracked(self, url: str) -> str:
        link = self.index.setdefault(url, len(self.index))
        return click_url(self.base, self.secret, self.effect, link, url)


def rewrite_html(html: str, links: Links | None, pixel: str | None) -> str:
    """The HTML with each http(s) ``<a href>`` tracked (with ``links``), and the pixel (if
    any) before ``</body>``."""
    def replace(match: re.Match[str]) -> str:
        url = unescape(match.group(3)).strip()
        if links is None or not _trackable(url):
            return match.group(0)
        quote = match.group(2)
        return f"{match.group(1)}{quote}{escape(links.tracked(url), quote=True)}{quote}"

    if links is not None:
        html = _HREF.sub(replace, html)
    if pixel is not None:
        image = (f'<img src="{escape(pixel, quote=True)}" width="1" height="1" alt="" '
                 f'style="display:block;width:1px;height:1px;border:0">')
        closing = list(_BODY_CLOSE.finditer(html))
        at = closing[-1].start() if closing else len(html)
        html = f"{html[:at]}{image}{html[at:]}"
    return html


def rewrite_text(text: str, links: Links) -> str:
    """The text with each http(s) URL tracked (trailing punctuation left outside)."""
    def replace(match: re.Match[str]) -> str:
        url = match.group(0)
        stripped = url.rstrip(_TRAILING)
        if not _trackable(stripped):
            return url
        return links.tracked(stripped) + url[len(stripped):]

    return _TEXT_URL.sub(replace, text)


def links_of(base: str, secret: str, effect: int) -> Links:
    """A fresh link index for one message."""
    return Links(base, secret, effect)


def verp_address(return_path: str, secret: str, effect: int) -> str:
    """``local+<effect>-<mac>@domain``: the envelope sender of effect ``effect``'s email."""
    local, _, domain = return_path.partition("@")
    mac = _mac(str(effect).encode("ascii"), secret, _VERP_DOMAIN).hex()[:20]
    return f"{local}+{effect}-{mac}@{domain}"


_VERP = re.compile(r"^[^@+]+\+(\d{1,12})-([0-9a-f]{20})@", re.IGNORECASE)


def verify_return_path(address: str, secret: str) -> int | None:
    """The effect a VERP address names, or None when it is not one of ours or altered."""
    match = _VERP.match(address.strip().strip("<>"))
    if match is None or not secret:
        return None
    effect, given = match.group(1), match.group(2).lower()
    expected = _mac(effect.encode("ascii"), secret, _VERP_DOMAIN).hex()[:20]
    if not hmac.compare_digest(given, expected):
        return None
    return int(effect)
