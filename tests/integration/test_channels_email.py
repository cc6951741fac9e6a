"""The email channel against a real SMTP server (aiosmtpd on 127.0.0.1): message fields and
headers, multipart bodies, the unsubscribe link and its token, login, STARTTLS with a
certificate the client must trust, and how failures are classified."""

from __future__ import annotations

import re
import ssl
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from itinera.channels import (
    Delivery,
    EmailChannel,
    PermanentError,
    RetryableError,
    SmtpSettings,
    UnsubscribeSettings,
    make_token,
    verify_token,
)
from itinera.storage.store import Effect

from .smtp_server import Collector, free_port, start

# A self-signed EC certificate for localhost / 127.0.0.1, valid 2000-2125, made once with
# `openssl ca -selfsign` for these tests only (Python's ssl module cannot make certificates).
CERT = """-----BEGIN CERTIFICATE-----
MIIBZjCCAQ2gAwIBAgIBATAKBggqhkjOPQQDAjAUMRIwEAYDVQQDDAlsb2NhbGhv
c3QwIBcNMDAwMTAxMDAwMDAwWhgPMjEyNTAxMDEwMDAwMDBaMBQxEjAQBgNVBAMM
CWxvY2FsaG9zdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABMIUMEaT4UM7DjaW
/jtm2ekLCISKtdMQ/wdvJudXyIhHGiKl+Kbm1JrTNl00q2ibmyrjI2oLhiTujhrc
qJtyI0qjTjBMMA8GA1UdEwEB/wQFMAMBAf8wGgYDVR0RBBMwEYIJbG9jYWxob3N0
hwR/AAABMB0GA1UdDgQWBBT1a2uLQAqQoer6kCtHAVGskPJLLzAKBggqhkjOPQQD
AgNHADBEAiBt/nV9ngdWeVjdXt6dbM7EgjoKf03ppEH6/3PUvriZTwIgd2l90zSJ
Al54fSX9oDSkOY97I0qUzHbPChPBd4G+VCo=
-----END CERTIFICATE-----
"""
KEY = """-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg1MWs5qmqVop5Kplh
NTBepSTslThH9ZcuwYxkwdWeiBehRANCAATCFDBGk+FDOw42lv47ZtnpCwiEirXT
EP8HbybnV8iIRxoipfim5tSa0zZdNKtom5sq4yNqC4Yk7o4a3KibciNK
-----END PRIVATE KEY-----
"""

SECRET = "unsubscribe-secret"
UNSUBSCRIBE = UnsubscribeSettings(base_url="https://app.example.test/unsubscribe?list=cs",
                                  secret=SECRET, mailto="unsubscribe@vendor.test")


def authenticator(server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                  auth_data: Any) -> AuthResult:
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login == b"mailer"
          and auth_data.password == b"s3cret")
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def collector() -> Collector:
    return Collector()


@pytest.fixture
def port(collector: Collector) -> Iterator[int]:
    """A plain SMTP server that takes AUTH without TLS (loopback only)."""
    yield from start(collector, authenticator=authenticator, auth_require_tls=False)


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_text(CERT)
    key.write_text(KEY)
    return cert, key


@pytest.fixture
def tls_port(collector: Collector, certificate: tuple[Path, Path]) -> Iterator[int]:
    """A server that requires STARTTLS before anything else, and AUTH only over TLS."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    yield from start(collector, tls_context=context, require_starttls=True,
                     authenticator=authenticator)


def smtp(port: int, **overrides: Any) -> SmtpSettings:
    values: dict[str, Any] = {"host": "127.0.0.1", "port": port, "starttls": False,
                              "from_address": "cs@vendor.test", "from_name": "Bodea Success",
                              "timeout": 5, "local_hostname": "itinera.test"}
    return SmtpSettings(**{**values, **overrides})


def effect(**payload: Any) -> Effect:
    values: dict[str, Any] = {
        "to": "ceo@acme.test", "template": "welcome", "subject": "Bienvenue à Bodea, Acme",
        "preheader": "Your first steps", "text": "Hello Carla,\nwelcome aboard.",
        "html": "<html><body><p>Hello <b>Carla</b></p></body></html>"}
    return Effect(key="7:2:0:p-ceo", channel="email", status="pending",
                  at=datetime(2026, 1, 5, 9, tzinfo=UTC), journey="onboarding", node="welcome",
                  account="acme", person="p-ceo", payload={**values, **payload})


def token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


def test_message_fields_headers_and_multipart(collector: Collector, port: int) -> None:
    delivery = EmailChannel(smtp(port), UNSUBSCRIBE).deliver(effect())
    assert delivery.delivered and delivery.provider_id
    [received] = collector.received
    message = received.message
    assert received.mail_from == "cs@vendor.test" and received.rcpt_tos == ["ceo@acme.test"]
    assert message["From"] == "Bodea Success <cs@vendor.test>"
    assert message["To"] == "ceo@acme.test"
    assert message["Subject"] == "Bienvenue à Bodea, Acme"
    assert message["Date"]
    assert message["Message-ID"] == delivery.provider_id
    assert re.fullmatch(r"<itinera\.[0-9a-f]{32}@vendor\.test>", delivery.provider_id)
    assert message["X-Itinera-Key"] == "7:2:0:p-ceo"
    assert message.get_content_type() == "multipart/alternative"
    text_part = message.get_body(("plain",))
    html_part = message.get_body(("html",))
    assert text_part is not None and html_part is not None
    text, html = (part.get_content().replace("\r\n", "\n") for part in (text_part, html_part))
    assert text.startswith("Hello Carla,\nwelcome aboard.")
    link = f"https://app.example.test/unsubscribe?list=cs&token={make_token('p-ceo', SECRET)}"
    assert link in text
    assert f'<a href="{link.replace("&", "&amp;")}">unsubscribe</a>' in html
    assert html.index("unsubscribe</a>") < html.index("</body>")
    assert re.search(r"<body><div style=\"display:none[^\"]*\">Your first steps</div><p>Hello", html)


def test_list_unsubscribe_headers_carry_a_working_token(collector: Collector, port: int) -> None:
    EmailChannel(smtp(port), UNSUBSCRIBE).deliver(effect())
    message = collector.received[0].message
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    header = str(message["List-Unsubscribe"])
    match = re.fullmatch(r"<(https://[^>]+)>, <mailto:unsubscribe@vendor\.test\?subject=([^>]+)>",
                         header)
    assert match, header
    token = token_of(match.group(1))
    assert re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", token)
    assert verify_token(token, SECRET) == "p-ceo"
    assert match.group(2).endswith(token)
    assert verify_token(token, "another secret") is None
    other = make_token("p-cfo", SECRET)
    assert verify_token(token.split(".")[0] + "." + other.split(".")[1], SECRET) is None
    assert verify_token(other.split(".")[0] + "." + token.split(".")[1], SECRET) is None
    for broken in ("", ".", "abc", "a.b.c", token + "x", "!!." + token.split(".")[1]):
        assert verify_token(broken, SECRET) is None


def test_text_only_message_and_one_id_per_effect(collector: Collector, port: int) -> None:
    channel = EmailChannel(smtp(port), UnsubscribeSettings(base_url="https://u.test/u", secret="s"))
    first = channel.deliver(effect(html=None, preheader=None))
    again = channel.deliver(effect(html=None, preheader=None))
    assert first.provider_id == again.provider_id  # a resent message is recognisably the same
    message = collector.received[0].message
    assert message.get_content_type() == "text/plain"
    assert message["List-Unsubscribe"] == f"<https://u.test/u?token={make_token('p-ceo', 's')}>"
    assert "unsubscribe: https://u.test/u?token=" in message.get_content()


def test_login(collector: Collector, port: int) -> None:
    EmailChannel(smtp(port, username="mailer", password="s3cret"), UNSUBSCRIBE).deliver(effect())
    assert collector.received[0].authenticated
    with pytest.raises(RetryableError) as refused:  # bad credentials fail the session, not the mail
        EmailChannel(smtp(port, username="mailer", password="wrong"), UNSUBSCRIBE).deliver(effect())
    assert refused.value.code == 535
    assert len(collector.received) == 1


def test_starttls_with_a_trusted_certificate(collector: Collector, tls_port: int,
                                             certificate: tuple[Path, Path]) -> None:
    trusting = ssl.create_default_context(cafile=str(certificate[0]))
    settings = smtp(tls_port, starttls=True, username="mailer", password="s3cret")
    EmailChannel(settings, UNSUBSCRIBE, ssl_context=trusting).deliver(effect())
    [received] = collector.received
    assert received.tls and received.authenticated
    with pytest.raises(RetryableError, match="CERTIFICATE_VERIFY_FAILED"):  # the system CAs
        EmailChannel(settings, UNSUBSCRIBE).deliver(effect())
    with pytest.raises(RetryableError):  # the server insists on STARTTLS first
        EmailChannel(smtp(tls_port), UNSUBSCRIBE).deliver(effect())
    assert len(collector.received) == 1


@pytest.mark.parametrize(("where", "reply", "error"), [
    ("rcpt", "550 5.1.1 No such user", PermanentError),
    ("rcpt", "450 4.2.1 Mailbox busy", RetryableError),
    ("data", "451 4.3.0 Try again later", RetryableError),
    ("data", "554 5.7.1 Rejected as spam", PermanentError),
])
def test_replies_are_classified(collector: Collector, port: int, where: str, reply: str,
                                error: type[Exception]) -> None:
    setattr(collector, f"{where}_reply", reply)
    with pytest.raises(error) as raised:
        EmailChannel(smtp(port), UNSUBSCRIBE).deliver(effect())
    assert getattr(raised.value, "code", None) == int(reply[:3])
    assert collector.received == []


def test_nothing_listening_is_retryable() -> None:
    with pytest.raises(RetryableError, match="cannot connect"):
        EmailChannel(smtp(free_port()), UNSUBSCRIBE).deliver(effect())


def test_malformed_and_foreign_effects_are_permanent(collector: Collector, port: int) -> None:
    channel = EmailChannel(smtp(port), UNSUBSCRIBE)
    with pytest.raises(PermanentError, match="cannot build"):  # header injection
        channel.deliver(effect(subject="Hi\r\nBcc: everyone@acme.test"))
    with pytest.raises(PermanentError, match="'to'"):
        channel.deliver(effect(to=None))
    foreign = effect()
    foreign.channel = "webhook"
    with pytest.raises(PermanentError, match="for channel 'webhook'"):
        channel.deliver(foreign)
    assert collector.received == []


def test_skipped_effects_are_not_sent(collector: Collector, port: int) -> None:
    skipped = Effect(key="7:2:0:p-cfo", channel="email", status="skipped", at=datetime.now(UTC),
                     person="p-cfo", payload={"reason": "unsubscribed", "template": "welcome"})
    delivery = EmailChannel(smtp(port), UNSUBSCRIBE).deliver(skipped)
    assert delivery == Delivery(False, "skipped: unsubscribed")
    assert collector.received == []


class _Counting(Collector):
    """Counts the sessions (EHLO greetings) the server saw."""

    def __init__(self) -> None:
        super().__init__()
        self.sessions = 0

    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str,
                          responses: list[str]) -> list[str]:
        self.sessions += 1
        session.host_name = hostname
        return responses


def test_sessions_are_kept_between_messages_and_replaced_when_closed() -> None:
    counting = _Counting()
    servers = start(counting, authenticator=authenticator, auth_require_tls=False)
    port = next(servers)
    channel = EmailChannel(smtp(port), UNSUBSCRIBE)
    try:
        for n in range(3):
            assert channel.deliver(replace(effect(), key=f"k{n}")).delivered
        counting.rcpt_reply = "550 no such user"  # the message's failure: the session goes on
        with pytest.raises(PermanentError):
            channel.deliver(replace(effect(), key="k3"))
        counting.rcpt_reply = None
        assert channel.deliver(replace(effect(), key="k4")).delivered
        assert counting.sessions == 1
        next(servers, None)  # the server stops: the kept session is closed under us
        again = start(counting, authenticator=authenticator, auth_require_tls=False, port=port)
        next(again)
        assert channel.deliver(replace(effect(), key="k5")).delivered
        assert counting.sessions == 2
        next(again, None)
    finally:
        channel.close()
    assert [r.message["X-Itinera-Key"] for r in counting.received] == ["k0", "k1", "k2", "k4",
                                                                       "k5"]
