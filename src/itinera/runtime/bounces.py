"""Bounces and complaints: delivery status notifications (RFC 3464) and feedback reports
(RFC 5965, ARF) read from mail sent to the VERP return path, and Postmark's webhooks.

- A DSN is ``multipart/report; report-type=delivery-status``: for each recipient block of its
  ``message/delivery-status`` part, ``Action: failed`` with a ``5.x.x`` status is a **hard**
  bounce; ``delayed``, or ``failed`` with ``4.x.x``, a **soft** one; ``delivered``/``relayed``/
  ``expanded`` are not bounces.
- A feedback report (``report-type=feedback-report``) is a **complaint**.
- Postmark: ``RecordType: Bounce`` with ``Type`` ``HardBounce``/``BadEmailAddress`` is hard,
  ``SoftBounce``/``Transient``/``DnsError`` soft; ``SpamComplaint`` a complaint.

The address is the one the bounced email went to when the VERP return path names its effect
(signed: ``channels.tracking.verify_return_path``), else the DSN's ``Final-Recipient``. Hard
bounces and complaints suppress it (``storage.suppressions``); soft bounces are counted and
never suppress (a full mailbox or a greylisting server recovers). :class:`BounceReceiver` is the
SMTP endpoint (aiosmtpd) ``itinera bounces`` runs.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import Message
from typing import Any

import sqlalchemy as sa

from itinera.channels.tracking import verify_return_path
from itinera.domain.actor import Actor
from itinera.storage import audit, suppressions
from itinera.storage import schema as t

__all__ = ["MAX_MESSAGE", "Bounce", "BounceReceiver", "from_postmark", "lift", "parse_report",
           "receive"]

log = logging.getLogger("itinera.bounces")

MAX_MESSAGE = 1024 * 1024  # bytes of a bounce message: DSNs are small; the original is cut
_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_ADDRESS = re.compile(r"[^\s<>;\"]+@[^\s<>;\"]+")
_POSTMARK_HARD = {"HardBounce", "BadEmailAddress"}
_POSTMARK_SOFT = {"SoftBounce", "Transient", "DnsError"}


@dataclass(frozen=True)
class Bounce:
    """One bounce of one address: ``kind`` ``hard``, ``soft`` or ``complaint``."""

    address: str
    kind: str
    source: str
    status: str | None = None
    detail: str | None = None
    effect: int | None = None


def _recipient(value: str | None) -> str | None:
    """The address of a ``Final-Recipient: rfc822; a@b`` field."""
    if not value:
        return None
    match = _ADDRESS.search(value.split(";", 1)[-1])
    return match.group(0).lower() if match else None


def _blocks(part: Message) -> list[Message]:
    """The field blocks of a ``message/delivery-status`` part (per message, per recipient)."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [block for block in payload if isinstance(block, Message)]
    # Some senders mislabel it text: parse the blocks ourselves.
    text = payload if isinstance(payload, str) else ""
    return [email.message_from_string(chunk + "\n") for chunk in re.split(r"\r?\n\r?\n", text)
            if chunk.strip()]


def parse_report(raw: bytes, *, effect: int | None = None,
                 effect_address: str | None = None) -> list[Bounce]:
    """The bounces a report message tells of (none when it is no DSN or feedback report).
    ``effect_address``: where the email named by the return path went, which wins over the
    report's own recipient fields."""
    message = email.message_from_bytes(raw[:MAX_MESSAGE], policy=email.policy.compat32)
    if message.get_content_type() != "multipart/report":
        return []
    report_type = (message.get_param("report-type") or "")
    report_type = report_type.lower() if isinstance(report_type, str) else ""
    found: list[Bounce] = []
    for part in message.walk():
        content_type = part.get_content_type()
        if report_type == "delivery-status" and content_type in (
                "message/delivery-status", "message/global-delivery-status"):
            for block in _blocks(part)[1:] or _blocks(part):
                bounce = _dsn_bounce(block, effect, effect_address)
                if bounce is not None:
                    found.append(bounce)
        elif report_type == "feedback-report" and content_type == "message/feedback-report":
            blocks = _blocks(part)
            fields = blocks[0] if blocks else Message()
            address = effect_address or _recipient(fields.get("Original-Rcpt-To"))
            if address:
                feedback = str(fields.get("Feedback-Type") or "abuse").strip()
                found.append(Bounce(address.lower(), "complaint", "smtp", None,
                                    f"feedback: {feedback}", effect))
    return found[:100]


def _dsn_bounce(block: Message, effect: int | None, effect_address: str | None) -> Bounce | None:
    action = str(block.get("Action") or "").strip().lower()
    address = _recipient(block.get("Final-Recipient")) or \
        _recipient(block.get("Original-Recipient")) or effect_address
    if not action or action in ("delivered", "relayed", "expanded") or address is None:
        return None
    status_text = str(block.get("Status") or "")
    match = _STATUS.search(status_text)
    status = match.group(0) if match else None
    diagnostic = " ".join(str(block.get("Diagnostic-Code") or "").split())[:1000] or None
    hard = action == "failed" and (status is None or status.startswith("5"))
    if effect_address is not None and address.lower() != effect_address.lower():
        # The report names another recipient than the email the return path names: trust
        # the signed effect for the address only when the report names no one else.
        effect = None
    return Bounce(address, "hard" if hard else "soft", "smtp", status, diagnostic, effect)


def from_postmark(body: dict[str, Any]) -> Bounce | None:
    """The bounce a Postmark webhook tells of; None for other record types (opens, clicks,
    deliveries, auto-responders); ValueError when it has no address."""
    record, kind_name = body.get("RecordType"), body.get("Type")
    if not isinstance(record, str) or not isinstance(kind_name, (str, type(None))):
        return None
    if record == "SpamComplaint" or kind_name == "SpamComplaint":
        kind = "complaint"
    elif record == "Bounce" and kind_name in _POSTMARK_HARD:
        kind = "hard"
    elif record == "Bounce" and kind_name in _POSTMARK_SOFT:
        kind = "soft"
    else:
        return None
    address = body.get("Email")
    if not isinstance(address, str) or not _ADDRESS.fullmatch(address.strip()):
        raise ValueError("Email: expected the bounced address")
    detail = " ".join(str(body.get("Description") or body.get("Details") or "").split())[:1000]
    return Bounce(address.strip().lower(), kind, "postmark", None, detail or None)


def receive(connection: sa.Connection, bounce: Bounce, at: datetime) -> bool:
    """Record a bounce in ``connection``'s transaction; True when it newly suppresses."""
    return suppressions.record_bounce(connection, bounce.address, bounce.kind,
                                      source=bounce.source, at=at, status=bounce.status,
                                      detail=bounce.detail, effect=bounce.effect)


def lift(connection: sa.Connection, address: str, actor: Actor) -> dict[str, Any] | None:
    """Lift a suppression, auditing who did it in the same transaction (kind
    ``suppression_lift``, object ``("suppression", address)``); what it was, or None when
    there was none (nothing audited)."""
    before = suppressions.lift(connection, address)
    if before is not None:
        audit.record(connection, actor, "suppression_lift", ("suppression", before["address"]),
                     before=before, after=None)
    return before


def _effect_address(connection: sa.Connection, effect: int) -> str | None:
    payload = connection.execute(sa.select(t.effects.c.payload).where(
        t.effects.c.id == effect, t.effects.c.channel == "email")).scalar()
    to = payload.get("to") if isinstance(payload, dict) else None
    return to.lower() if isinstance(to, str) else None


class BounceReceiver:
    """An aiosmtpd handler for mail to the return path: each report's bounces recorded.

    Any recipient is taken (at most 10 a message); a message that is no report, whose return
    path is not one of ours, or that tells of another address than the one our email went to,
    is accepted and dropped (bouncing a bounce loops)."""

    def __init__(self, engine: sa.Engine, secret: str, now: Callable[[], datetime]) -> None:
        self.engine, self.secret, self.now = engine, secret, now

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if len(envelope.rcpt_tos) >= 10:
            return "452 4.5.3 Too many recipients"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode("utf-8", "replace")
        try:
            await asyncio.to_thread(self.take, list(envelope.rcpt_tos), content)
        except Exception:  # the database away: the sender keeps the message and retries
            log.exception("could not record a bounce")
            return "451 4.3.0 Try again later"
        return "250 OK"

    def take(self, recipients: list[str], content: bytes) -> list[Bounce]:
        """Record the bounces of one message sent to ``recipients``; what was recorded.

        Only a signed return path (VERP) is believed, and only for the address its email went
        to: the port is open to anyone, and a report's own recipient fields are whatever its
        sender wrote, so without this anyone could suppress any address."""
        effects = [e for r in recipients if (e := verify_return_path(r, self.secret)) is not None]
        if not effects:
            return []
        effect = effects[0]
        with self.engine.begin() as connection:
            address = _effect_address(connection, effect)
            if address is None:
                return []
            try:
                found = [bounce for bounce in parse_report(content, effect=effect,
                                                           effect_address=address)
                         if bounce.address.lower() == address and bounce.effect == effect]
            except RecursionError:  # MIME nested past Python's limit: no report of ours
                return []
            for bounce in found:
                receive(connection, bounce, self.now())
        return found
