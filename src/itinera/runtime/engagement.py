"""A tracked click or open becoming an ``email.clicked`` / ``email.opened`` event, or a hit
flagged as a bot's.

Bots and link scanners (mail security gateways, previewers) fetch links and images as soon
as a message arrives. A hit is flagged ``bot`` — kept in ``email_hits`` with the reason, shown
in the report, and **not** made an event, so no journey, score or segment sees it — when:

- ``user_agent``: its User-Agent names a known scanner, crawler or HTTP library;
- ``too_soon``: it came within :data:`TOO_SOON` of the delivery (or before the delivery was
  even recorded): no person opens and clicks that fast;
- ``burst``: the email already had :data:`BURST` or more clicks (of any link) within
  :data:`BURST_WINDOW` before it (a scanner following every link at once); the first ones
  count, as no earlier hit can be taken back.

A person's hit becomes an event through the inbox, like any other input, with the hit's id
(``click:<effect>:<link>:<unix second>``, ``open:<effect>:<unix second>``) as its id and
idempotency key: a double click, or a client's retry, within the same second counts once.
Nothing is recorded for a person who has unsubscribed since (the redirect still works).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from itinera.channels.tracking import Tracked
from itinera.runtime.service import Service
from itinera.storage import tracking
from itinera.storage.tracking import EmailOf
from itinera.timeutil import format_instant

__all__ = ["BURST", "BURST_WINDOW", "TOO_SOON", "bot_reason", "record"]

TOO_SOON = timedelta(seconds=1)
BURST = 2  # earlier clicks of the same email within BURST_WINDOW: the next is a burst
BURST_WINDOW = timedelta(seconds=2)
_MAX_AGENT = 512

# Scanners, previewers, crawlers and HTTP libraries (a person's mail client or browser is none).
_SCANNERS = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|scanner|preview|barracuda|mimecast|proofpoint|"
    r"fireeye|safelinks|symantec|messagelabs|trendmicro|sophos|forcepoint|ironport|"
    r"cisco|zscaler|google-safety|googleimageproxy-scan|facebookexternalhit|headlesschrome|"
    r"python-requests|python-urllib|curl/|wget/|go-http-client|java/|libwww|okhttp|"
    r"apache-httpclient|^$", re.IGNORECASE)


def bot_reason(user_agent: str | None, at: datetime, delivered_at: datetime | None,
               recent_clicks: int) -> str | None:
    """Why a hit is a bot's (``user_agent``, ``too_soon``, ``burst``), or None for a person."""
    if _SCANNERS.search((user_agent or "")[:_MAX_AGENT].strip()):
        return "user_agent"
    if delivered_at is None or at - delivered_at < TOO_SOON:
        return "too_soon"
    if recent_clicks >= BURST:
        return "burst"
    return None


def record(service: Service, tracked: Tracked, user_agent: str | None) -> str | None:
    """Record a verified hit; returns the event's id when a person's hit was received, None
    when nothing was (unknown email, unsubscribed person, repeat, bot). A repeat that raced
    this one (two requests of one double click) is a repeat too."""
    try:
        return _record(service, tracked, user_agent)
    except sa.exc.IntegrityError:  # the same hit stored meanwhile by a parallel request
        return None


def _record(service: Service, tracked: Tracked, user_agent: str | None) -> str | None:
    now = service.clock.now()
    hit_id = (f"click:{tracked.effect}:{tracked.link}:{int(now.timestamp())}"
              if tracked.kind == "click" else f"open:{tracked.effect}:{int(now.timestamp())}")
    with service.intake.engine.begin() as conn:
        email = tracking.email_of(conn, tracked.effect)
        if email is None or email.unsubscribed or email.person is None:
            return None
        recent = tracking.hits_since(conn, tracked.effect, "click", now - BURST_WINDOW) \
            if tracked.kind == "click" else 0
        reason = bot_reason(user_agent, now, email.delivered_at, recent)
        if not tracking.record_hit(conn, {
                "id": hit_id, "effect": tracked.effect, "kind": tracked.kind,
                "journey": email.journey, "node": email.node, "template": email.template,
                "person": email.person, "link": tracked.link, "url": tracked.url, "at": now,
                "bot": reason is not None, "bot_reason": reason}):
            return None
        if reason is not None:
            return None
        service.submit([{"event": _event(hit_id, tracked, email, now)}], "tracking",
                       connection=conn)
    service.wake()
    return hit_id


def _event(hit_id: str, tracked: Tracked, email: EmailOf, now: datetime) -> dict[str, Any]:
    properties: dict[str, Any] = {"template": email.template, "journey": email.journey,
                                  "node": email.node, "effect": email.key}
    if tracked.kind == "click":
        properties |= {"link": tracked.link, "url": tracked.url}
    return {"id": hit_id, "type": "email.clicked" if tracked.kind == "click" else "email.opened",
            "person": email.person, "at": format_instant(now),
            "properties": {k: v for k, v in properties.items() if v is not None}}

