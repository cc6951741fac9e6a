"""A template's test email: rendered for a chosen person as a journey's ``send_email`` would
render it (the same sandbox and limits), and sent to one address over the configured SMTP.

A test is not a delivery: no enrollment, no effect in the outbox, no unsubscribe link. It is
marked as a test (``[TEST]`` before the subject, an ``X-Itinera-Test`` header and a first line
saying so), carries its own idempotency key (``X-Itinera-Key: test-email-<id>``, and a
Message-ID derived from it), is rate-limited per actor (:data:`RATES`), and recorded in
``test_emails`` with who sent it, to whom and how it went. The row is written (and the rate
checked) before the message is sent, so two requests at once cannot both pass the limit on
SQLite, where writers queue.
"""

from __future__ import annotations

import hashlib
import re
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from html import escape
from typing import Any

import sqlalchemy as sa

from itinera.channels.base import PermanentError, RetryableError
from itinera.channels.email import close_session, open_session
from itinera.channels.settings import SmtpSettings
from itinera.domain.actor import Actor
from itinera.domain.model import Person, Template
from itinera.engine.render import Renderer, RenderError, account_context, csm_context, person_context
from itinera.errors import ItineraError
from itinera.storage import schema as t
from itinera.storage import views

__all__ = ["RATES", "TestEmailRefused", "TestSend", "render_for", "send_test_email"]

RATES = ((timedelta(minutes=1), 5), (timedelta(days=1), 50))
"""At most this many test emails per actor within each window."""
_ADDRESS = re.compile(r"[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+")
MAX_ADDRESS = 254  # RFC 5321's longest path


class TestEmailRefused(ItineraError):
    """Not sent: ``status`` is the HTTP status that says why (409 no SMTP, 422 a bad address or
    a template that does not render, 429 over the rate)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class TestSend:
    id: int
    to: str
    subject: str
    status: str  # sent | failed
    error: str | None

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "to": self.to, "subject": self.subject, "status": self.status,
                "error": self.error}


def render_for(connection: sa.Connection, template: Template, person: Person) -> dict[str, Any]:
    """The rendered parts of ``template`` for ``person`` (``error`` when it cannot render),
    with the values a journey's ``send_email`` would give it: the account, its CSM, the person
    and their role in a buying group."""
    values: dict[str, Any] = {"person": person_context(person), "buying_group": {"role": None}}
    view = views.account_view(connection, person.account) if person.account else None
    if view is not None:
        values["account"] = account_context(view.account)
        csm = next((c for c in views.csms(connection) if c.id == view.account.csm), None)
        values["csm"] = csm_context(csm)
        values["buying_group"]["role"] = next(
            (m.role for g in view.groups for m in g.members if m.person == person.id), None)
    renderer = Renderer()
    try:
        return {"subject": renderer.render(template.subject, values),
                "preheader": renderer.render(template.preheader, values) if template.preheader else None,
                "text": renderer.render(template.text, values),
                "html": renderer.render(template.html, values) if template.html else None,
                "values": values, "error": None}
    except RenderError as error:
        return {"error": str(error), "values": values}


def _actor_key(actor: Actor) -> str:
    return f"{actor.kind}:{actor.id}"


def _reserve(engine: sa.Engine, actor: Actor, to: str, template: str | None,
             person: str | None, subject: str, now: datetime) -> int:
    """Check the rate and record the send as ``sending``, in one transaction."""
    c = t.test_emails.c
    with engine.begin() as connection:
        for window, most in RATES:
            sent = connection.execute(sa.select(sa.func.count()).where(
                c.actor == _actor_key(actor), c.at > now - window)).scalar_one()
            if sent >= most:
                minutes = int(window.total_seconds() // 60)
                span = "a minute" if minutes == 1 else "a day" if minutes == 1440 else \
                    f"{minutes} minutes"
                raise TestEmailRefused(429, f"at most {most} test emails {span} per user or key; "
                                            "try again later")
        return int(connection.execute(sa.insert(t.test_emails).values(
            at=now, actor=_actor_key(actor), actor_label=actor.label, to=to, template=template,
            person=person, subject=subject, status="sending").returning(c.id)).scalar_one())


def _message(smtp: SmtpSettings, send_id: int, to: str, rendered: dict[str, Any],
             template: str | None, person: str | None) -> EmailMessage:
    key = f"test-email-{send_id}"
    sender = smtp.from_address
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    about = (f"This is a test of template {template or '(unsaved)'}"
             f"{f' rendered for person {person}' if person else ''}, sent from Itinera's studio. "
             "It is not a journey delivery.")
    message = EmailMessage()
    message["From"] = formataddr((smtp.from_name or "", sender))
    message["To"] = to
    message["Subject"] = f"[TEST] {rendered['subject']}"
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = f"<itinera.test.{digest}@{sender.rsplit('@', 1)[1]}>"
    message["X-Itinera-Key"] = key
    message["X-Itinera-Test"] = "1"
    message.set_content(f"{about}\n\n{rendered['text'] or ''}")
    if rendered.get("html"):
        banner = (f'<p style="background:#fff3cd;padding:8px;font-size:13px">{escape(about)}</p>')
        hidden = (f'<div style="display:none;max-height:0;overflow:hidden">'
                  f"{escape(rendered['preheader'])}</div>") if rendered.get("preheader") else ""
        message.add_alternative(f"{hidden}{banner}\n{rendered['html']}", subtype="html")
    return message


def send_test_email(engine: sa.Engine, smtp: SmtpSettings | None, actor: Actor, to: str,
                    rendered: dict[str, Any], now: datetime, *, template: str | None = None,
                    person: str | None = None,
                    ssl_context: ssl.SSLContext | None = None) -> TestSend:
    """Send ``rendered`` (``render_for``'s parts) to ``to`` as a test, and record it. Raises
    :class:`TestEmailRefused` when it is not sent at all; a relay that refuses or fails is a
    recorded ``failed`` send, with the reason."""
    if smtp is None:
        raise TestEmailRefused(409, "no SMTP relay is configured (ITINERA_SMTP_HOST and "
                                    "ITINERA_SMTP_FROM_ADDRESS), or the service runs in sandbox")
    to = to.strip()
    if len(to) > MAX_ADDRESS or not _ADDRESS.fullmatch(to):
        raise TestEmailRefused(422, f"to: not one email address: {to[:80]!r}")
    if rendered.get("error"):
        raise TestEmailRefused(422, f"the template does not render: {rendered['error']}")
    subject = f"[TEST] {rendered['subject']}"
    send_id = _reserve(engine, actor, to, template, person, subject, now)
    error: str | None = None
    try:
        message = _message(smtp, send_id, to, rendered, template, person)
        client = open_session(smtp, ssl_context or ssl.create_default_context())
        try:
            client.send_message(message, from_addr=smtp.from_address, to_addrs=[to])
        finally:
            close_session(client)
    except (RetryableError, PermanentError) as failure:
        error = str(failure)
    except smtplib.SMTPRecipientsRefused as failure:
        error = f"recipient refused: {failure.recipients}"
    except (smtplib.SMTPException, OSError, ValueError) as failure:
        error = f"sending failed: {failure}"
    status = "failed" if error else "sent"
    with engine.begin() as connection:
        connection.execute(sa.update(t.test_emails).where(t.test_emails.c.id == send_id)
                           .values(status=status, error=error))
    return TestSend(send_id, to, subject, status, error)
