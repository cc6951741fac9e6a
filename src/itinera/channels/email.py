"""The email channel: one message per effect over SMTP (smtplib), with STARTTLS or implicit TLS
and login as configured. Sessions are kept between messages (up to 8, each for 30 s unused): a
session's connection, STARTTLS and login cost more than a message. A kept session the server
has closed meanwhile is replaced at once.

Every message carries an ``X-Itinera-Key`` header (the effect's idempotency key) and a
Message-ID derived from it, so a message sent twice (a retry after a lost reply) can be recognised
as the same message; a ``List-Unsubscribe`` header with one-click ``List-Unsubscribe-Post``
(RFC 8058) and the same unsubscribe link at the end of the text and HTML bodies.

Tracking (``channels.tracking``): when the effect asks for it (``track: {clicks, opens}``, set
by the engine from the workspace and the template) and tracking is configured, the links of
both parts become signed redirect URLs and an open pixel closes the HTML; the unsubscribe link
is never tracked. With ``ITINERA_BOUNCES_RETURN_PATH`` the envelope sender is a per-message VERP
address, so a bounce names the effect it is about.

Failures: replies to the message itself (MAIL FROM, RCPT TO, DATA) are retryable for 4xx codes
and permanent for 5xx; failures of the session (no connection, timeout, greeting, STARTTLS,
login, TLS, and 530 "STARTTLS/authentication required") do not depend on the message and are
retryable: fixing the server or the settings lets the same message through.
"""

from __future__ import annotations

import email.policy
import hashlib
import re
import smtplib
import ssl
import threading
import time
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from html import escape

from itinera.channels import tracking
from itinera.channels.base import (
    Delivery,
    PermanentError,
    RetryableError,
    expect_channel,
    payload_text,
)
from itinera.channels.settings import (
    BounceSettings,
    ChannelSettings,
    SmtpSettings,
    TrackingSettings,
    UnsubscribeSettings,
)
from itinera.channels.unsubscribe import unsubscribe_mailto, unsubscribe_url
from itinera.storage.store import Effect

__all__ = ["EmailChannel", "close_session", "from_settings", "open_session"]

_NAME = "email"
_KEPT = 8  # sessions kept between messages (the dispatcher delivers 8 at a time)
_KEEP_FOR = 30.0  # seconds a session stays unused before it is ended rather than reused
_UNFOLDED = frozenset({"list-unsubscribe", "list-unsubscribe-post"})
_BODY_OPEN = re.compile(r"<body\b[^>]*>", re.IGNORECASE)
_BODY_CLOSE = re.compile(r"</body\s*>", re.IGNORECASE)


class _Policy(email.policy.EmailPolicy):
    """SMTP policy that never folds or encodes the List-Unsubscribe headers: RFC 2369 values are
    ``<uri>`` lists, which an encoded word would break."""

    def fold(self, name: str, value: str) -> str:
        if name.lower() in _UNFOLDED:
            return f"{name}: {value}{self.linesep}"
        return str(super().fold(name, value))

    def fold_binary(self, name: str, value: str) -> bytes:
        if name.lower() in _UNFOLDED:
            return self.fold(name, value).encode("ascii")
        return super().fold_binary(name, value)


_POLICY = _Policy(linesep="\r\n")


class EmailChannel:
    """Sends ``email`` effects (payload: to, subject, text, html, preheader, template)."""

    name = _NAME

    def __init__(self, smtp: SmtpSettings, unsubscribe: UnsubscribeSettings, *,
                 ssl_context: ssl.SSLContext | None = None,
                 tracking_settings: TrackingSettings | None = None,
                 bounces: BounceSettings | None = None) -> None:
        self.smtp = smtp
        self.unsubscribe = unsubscribe
        self.tracking_base = tracking.base_url_of(
            tracking_settings.base_url if tracking_settings else None, unsubscribe.base_url)
        self.bounces = bounces
        # Default: the system's trusted CAs, hostname checked. Made once: loading the CA bundle
        # costs about 14 ms of CPU, more than sending a message.
        self._ssl_context = ssl_context or ssl.create_default_context()
        # Sessions kept between messages (connect, greeting, STARTTLS and login cost more than
        # a message), each with the instant it was last used; the dispatcher's threads share them.
        self._idle: list[tuple[smtplib.SMTP, float]] = []
        self._idle_lock = threading.Lock()

    def deliver(self, effect: Effect) -> Delivery:
        expect_channel(_NAME, effect)
        if effect.status == "skipped":
            return Delivery(False, f"skipped: {effect.payload.get('reason')}")
        message = self.build_message(effect)
        recipient = str(effect.payload["to"])
        sender = self.envelope_sender(effect)
        client, kept = self._session()
        keep = True  # a message's own failure leaves the session usable; a session's does not
        try:
            try:
                client.send_message(message, from_addr=sender, to_addrs=[recipient])
            except smtplib.SMTPServerDisconnected:
                if not kept:
                    raise
                # A kept session the server had closed: once more on a fresh one (a message
                # it did take would come twice, with one Message-ID and X-Itinera-Key).
                close_session(client)
                client = self._open()
                client.send_message(message, from_addr=sender, to_addrs=[recipient])
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            raise _by_code(max(codes, default=550), f"recipient refused: {error.recipients}") from error
        except smtplib.SMTPResponseException as error:
            if error.smtp_code in (421, 530):  # closing, or STARTTLS/AUTH required: the session
                keep = False
                raise RetryableError(_reply(error), channel=_NAME, code=error.smtp_code) from error
            raise _by_code(error.smtp_code, _reply(error)) from error
        except smtplib.SMTPNotSupportedError as error:
            raise PermanentError(f"the server cannot take this message: {error}", channel=_NAME) from error
        except (smtplib.SMTPException, OSError) as error:
            keep = False
            raise RetryableError(f"sending failed: {error!r}", channel=_NAME) from error
        except BaseException:
            keep = False
            raise
        finally:
            if keep:
                self._keep(client)
            else:
                close_session(client)
        return Delivery(True, f"accepted by {self.smtp.host}", str(message["Message-ID"]))

    def close(self) -> None:
        """End the kept sessions."""
        with self._idle_lock:
            idle, self._idle = self._idle, []
        for client, _ in idle:
            close_session(client)

    def _session(self) -> tuple[smtplib.SMTP, bool]:
        """A kept session used within the last :data:`_KEEP_FOR` seconds, else a new one;
        and whether it was kept."""
        now = time.monotonic()
        stale = []
        with self._idle_lock:
            while self._idle:
                client, used = self._idle.pop()
                if now - used < _KEEP_FOR:
                    break
                stale.append(client)
            else:
                client = None
        for old in stale:
            close_session(old)
        return (client, True) if client is not None else (self._open(), False)

    def _keep(self, client: smtplib.SMTP) -> None:
        with self._idle_lock:
            if len(self._idle) < _KEPT:
                self._idle.append((client, time.monotonic()))
                return
        close_session(client)

    def envelope_sender(self, effect: Effect) -> str:
        """The envelope sender (MAIL FROM): the VERP return path naming the effect when
        bounces are configured, else the From address."""
        if self.bounces is None or effect.id <= 0:
            return self.smtp.from_address
        return tracking.verp_address(self.bounces.return_path,
                                     self.unsubscribe.secret.get_secret_value(), effect.id)

    def _tracked(self, effect: Effect, text: str, html: str | None) -> tuple[str, str | None]:
        """The bodies with links tracked and the open pixel, as the effect asks."""
        track = effect.payload.get("track")
        if not isinstance(track, dict) or effect.id <= 0:
            return text, html
        secret = self.unsubscribe.secret.get_secret_value()
        links = tracking.links_of(self.tracking_base, secret, effect.id) \
            if track.get("clicks") is True else None
        pixel = tracking.open_url(self.tracking_base, secret, effect.id) \
            if track.get("opens") is True else None
        if links is not None:
            text = tracking.rewrite_text(text, links)
        if html is not None:
            html = tracking.rewrite_html(html, links, pixel)
        return text, html

    def build_message(self, effect: Effect) -> EmailMessage:
        """The message an effect becomes; a payload that cannot make one is a PermanentError."""
        to = payload_text(_NAME, effect, "to")
        subject = payload_text(_NAME, effect, "subject")
        text = payload_text(_NAME, effect, "text", required=False) or ""
        html = payload_text(_NAME, effect, "html", required=False)
        preheader = payload_text(_NAME, effect, "preheader", required=False)
        text, html = self._tracked(effect, text, html)
        if effect.person is None:
            raise PermanentError(f"effect {effect.key!r} names no person to unsubscribe", channel=_NAME)
        link = unsubscribe_url(self.unsubscribe, effect.person)
        mailto = unsubscribe_mailto(self.unsubscribe, effect.person)
        sender = self.smtp.from_address
        message = EmailMessage(policy=_POLICY)
        try:
            message["From"] = formataddr((self.smtp.from_name or "", sender))
            message["To"] = to
            message["Subject"] = subject
            message["Date"] = formatdate(usegmt=True)
            message["Message-ID"] = _message_id(effect.key, sender)
            message["X-Itinera-Key"] = effect.key
            message["List-Unsubscribe"] = f"<{link}>" + (f", <{mailto}>" if mailto else "")
            message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
            message.set_content(_text_body(text, link))
            if html is not None:
                message.add_alternative(_html_body(html, preheader, link), subtype="html")
        except (ValueError, TypeError) as error:  # CR/LF in a header, an unparsable address
            raise PermanentError(f"cannot build the message of {effect.key!r}: {error}",
                                 channel=_NAME) from error
        return message

    def _open(self) -> smtplib.SMTP:
        """A connected, upgraded and logged-in session; any failure here is retryable."""
        return open_session(self.smtp, self._ssl_context)


def open_session(settings: SmtpSettings, context: ssl.SSLContext) -> smtplib.SMTP:
    """A session with the relay of ``settings``: connected, upgraded (STARTTLS or implicit TLS)
    and logged in, as configured; any failure here is a :class:`RetryableError`. The email
    channel and a template's test email (``studio.test_email``) both open theirs here."""
    try:
        client: smtplib.SMTP
        if settings.ssl:
            client = smtplib.SMTP_SSL(settings.host, settings.port, settings.local_hostname,
                                      timeout=settings.timeout, context=context)
        else:
            client = smtplib.SMTP(settings.host, settings.port, settings.local_hostname,
                                  timeout=settings.timeout)
    except (smtplib.SMTPException, OSError) as error:
        raise RetryableError(f"cannot connect to {settings.host}:{settings.port}: {error!r}",
                             channel=_NAME, code=getattr(error, "smtp_code", None)) from error
    try:
        client.ehlo()
        if settings.starttls:
            client.starttls(context=context)
            client.ehlo()
        if settings.username is not None and settings.password is not None:
            client.login(settings.username, settings.password.get_secret_value())
    except (smtplib.SMTPException, OSError) as error:
        close_session(client)
        raise RetryableError(f"SMTP session with {settings.host} failed: {error!r}",
                             channel=_NAME, code=getattr(error, "smtp_code", None)) from error
    return client


def from_settings(settings: ChannelSettings) -> EmailChannel | None:
    """The email channel, when SMTP is configured."""
    if settings.smtp is None or settings.unsubscribe is None:
        return None
    return EmailChannel(settings.smtp, settings.unsubscribe, tracking_settings=settings.tracking,
                        bounces=settings.bounces)


def _message_id(key: str, sender: str) -> str:
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return f"<itinera.{digest}@{sender.rsplit('@', 1)[1]}>"


def _text_body(text: str, link: str) -> str:
    return f"{text.rstrip()}\n\n--\nTo stop receiving these emails, unsubscribe: {link}\n"


def _html_body(html: str, preheader: str | None, link: str) -> str:
    footer = (f'<p style="font-size:12px;color:#666666">To stop receiving these emails, '
              f'<a href="{escape(link)}">unsubscribe</a>.</p>')
    closing = list(_BODY_CLOSE.finditer(html))
    if closing:
        at = closing[-1].start()
        html = f"{html[:at]}{footer}\n{html[at:]}"
    else:
        html = f"{html}\n{footer}"
    if preheader:
        hidden = (f'<div style="display:none;max-height:0;overflow:hidden;mso-hide:all">'
                  f"{escape(preheader)}</div>")
        opening = _BODY_OPEN.search(html)
        at = opening.end() if opening else 0
        html = f"{html[:at]}{hidden}{html[at:]}"
    return html


def _by_code(code: int, detail: str) -> RetryableError | PermanentError:
    if 500 <= code < 600:
        return PermanentError(detail, channel=_NAME, code=code)
    return RetryableError(detail, channel=_NAME, code=code)


def _reply(error: smtplib.SMTPResponseException) -> str:
    text = error.smtp_error.decode("utf-8", "replace") if isinstance(error.smtp_error, bytes) \
        else str(error.smtp_error)
    return f"{error.smtp_code} {text}"


def close_session(client: smtplib.SMTP) -> None:
    """QUIT, or just close the connection when the server does not answer."""
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()
