"""Issue 15's first done-when, end to end: a journey's email goes through a real SMTP server on
loopback with its links tracked; following the tracked link with an HTTP client against the
live app (uvicorn on loopback) records ``email.clicked``, which wakes the journey's ``wait_for``
and raises the person's score by the workspace's rule; a DSN sent to the bounce receiver
(aiosmtpd on loopback) suppresses the address, and the journey's next email to it is skipped
with the reason ``suppressed``."""

from __future__ import annotations

import re
import smtplib
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from html import unescape
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from aiosmtpd.controller import Controller

from itinera.api import create_app
from itinera.channels import EmailChannel, SmtpSettings, UnsubscribeSettings
from itinera.channels.settings import BounceSettings, TrackingSettings
from itinera.channels.tracking import verp_address
from itinera.runtime import Service
from itinera.runtime.bounces import BounceReceiver
from itinera.runtime.clock import ManualClock
from itinera.runtime.dispatcher import Dispatcher
from itinera.storage import outbox, suppressions
from itinera.storage import schema as t
from itinera.storage.sql import SqlStore

from .smtp_server import Collector, free_port, start

SECRET = "tracking-e2e-secret"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TARGET = "https://vendor.test/guide?step=1&ref=mail"
WORKSPACE = {
    "scoring": {"email.clicked": 10},
    "tracking": {"email": {"clicks": True, "opens": True}},
    "segments": [{"id": "gold", "when": {"account.tier": "gold"}}],
    "templates": [
        {"id": "welcome", "subject": "Welcome",
         "text": f"Start here: {TARGET}.",
         "html": f'<html><body><p><a href="{TARGET.replace("&", "&amp;")}">Start</a></p>'
                 "</body></html>"},
        {"id": "thanks", "subject": "Thanks", "text": "Thanks for reading."}],
}
JOURNEY = {
    "id": "engage",
    "entry": {"segments": ["gold"], "existing": True},
    "start": "hello",
    "nodes": {
        "hello": {"do": [{"send_email": {"template": "welcome"}}], "next": "wait"},
        "wait": {"wait_for": {"events": ["email.clicked"], "timeout": "7d"},
                 "next": "clicked", "on_timeout": "quiet"},
        "clicked": {"do": [{"send_email": {"template": "thanks"}}]},
        "quiet": {"do": [{"set": {"account.route": "quiet"}}]},
    },
}


class LiveApp:
    """The API served by uvicorn on a loopback port, in a thread."""

    def __init__(self, service: Service) -> None:
        self.port = free_port()
        config = uvicorn.Config(create_app(service, unsubscribe_secret=SECRET), host="127.0.0.1",
                                port=self.port, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "the app did not start"
            time.sleep(0.02)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *_: Any) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def smtp() -> Iterator[tuple[Collector, int]]:
    collector = Collector()
    for port in start(collector):
        yield collector, port


def _work(service: Service) -> None:
    while service.work():
        pass


def postfix_dsn(to: str, status: str) -> bytes:
    """A delivery status notification as Postfix writes one (RFC 3464)."""
    return (
        "From: MAILER-DAEMON@mx.acme.test (Mail Delivery System)\r\n"
        "To: bounces@vendor.test\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B1"\r\n\r\n'
        "--B1\r\nContent-Type: text/plain\r\n\r\nI'm sorry to have to inform you...\r\n\r\n"
        "--B1\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.acme.test\r\nArrival-Date: Mon,  2 Mar 2026 09:00:09 +0000\r\n\r\n"
        f"Final-Recipient: rfc822; {to}\r\nOriginal-Recipient: rfc822;{to}\r\n"
        f"Action: failed\r\nStatus: {status}\r\n"
        f"Diagnostic-Code: smtp; 550 {status} <{to}>: Recipient address rejected\r\n\r\n"
        "--B1\r\nContent-Type: text/rfc822-headers\r\n\r\nSubject: Welcome\r\n\r\n--B1--\r\n"
    ).encode()


def test_a_tracked_click_wakes_the_journey_and_a_bounce_suppresses_the_next_email(
        database_url: str, smtp: tuple[Collector, int]) -> None:
    collector, smtp_port = smtp
    clock = ManualClock(START)
    service = Service(database_url, clock)
    store = SqlStore(database_url, create=False, exclusive=False)
    try:
        with LiveApp(service) as base:
            channel = EmailChannel(
                SmtpSettings(host="127.0.0.1", port=smtp_port, starttls=False,
                             from_address="cs@vendor.test"),
                UnsubscribeSettings(base_url=f"{base}/unsubscribe", secret=SECRET),
                tracking_settings=TrackingSettings(base_url=base),
                bounces=BounceSettings(return_path="bounces@vendor.test"))
            dispatcher = Dispatcher(store, {"email": channel}, clock)
            service.submit([{"configure": WORKSPACE}, {"publish": JOURNEY}, {"enable": "engage"},
                            {"upsert_person": {"id": "p1", "account": "x1",
                                               "email": "Pat@Acme.test"}},
                            {"upsert_account": {"id": "x1", "attributes": {"tier": "gold"}}}])
            _work(service)
            assert dispatcher.dispatch() == 1
            (sent,) = collector.received
            html = sent.message.get_body(("html",))
            text = sent.message.get_body(("plain",))
            assert html is not None and text is not None
            body, plain = html.get_content(), text.get_content()
            links = [unescape(u) for u in re.findall(r'href="([^"]+)"', body)]
            tracked = [u for u in links if u.startswith(f"{base}/t/c/")]
            assert len(tracked) == 1 and TARGET not in body  # the link, rewritten
            assert f"{base}/unsubscribe?token=" in body  # the unsubscribe link is not tracked
            assert re.search(rf'<img src="{re.escape(base)}/t/o/[^"]+"', body)  # the pixel
            assert TARGET not in plain and f"{base}/t/c/" in plain
            assert re.fullmatch(r"bounces\+\d+-[0-9a-f]{20}@vendor\.test", sent.mail_from)

            clock.advance(timedelta(seconds=30))  # a person reads it, later than any scanner
            with httpx.Client(timeout=30) as client:
                followed = client.get(tracked[0], follow_redirects=False)
                again = client.get(tracked[0], follow_redirects=False)  # a double click
                tampered = client.get(tracked[0][:-3] + ("AAA" if not tracked[0].endswith(
                    "AAA") else "BBB"), follow_redirects=False)
                elsewhere = client.get(tracked[0] + "?url=https://evil.test",
                                       follow_redirects=False)
            assert followed.status_code == 302 and followed.headers["location"] == TARGET
            assert again.status_code == 302
            assert tampered.status_code == 404 and "location" not in tampered.headers
            assert elsewhere.headers.get("location") == TARGET  # the query changes nothing

            _work(service)
            with service.store.transaction():
                person = service.store.person("p1")
            assert person is not None and person.score == 10  # one click, counted once
            with store.engine.connect() as connection:
                clicks = connection.execute(sa.select(t.events.c.properties).where(
                    t.events.c.type == "email.clicked")).scalars().all()
                thanks = connection.execute(sa.select(t.effects.c.id).where(
                    t.effects.c.node == "clicked")).scalars().all()
            assert len(clicks) == 1
            assert clicks[0]["url"] == TARGET and clicks[0]["journey"] == "engage"
            assert (clicks[0]["node"], clicks[0]["template"], clicks[0]["link"]) == \
                ("hello", "welcome", 0)
            assert len(thanks) == 1  # wait_for woke: the journey went on to `clicked`

            receiver_port = free_port()
            receiver = Controller(BounceReceiver(store.engine, SECRET, clock.now),
                                  hostname="127.0.0.1", port=receiver_port)
            receiver.start()
            try:
                dsn = postfix_dsn("pat@acme.test", "5.1.1")
                with smtplib.SMTP("127.0.0.1", receiver_port, timeout=30) as client_smtp:
                    client_smtp.sendmail("", [sent.mail_from], dsn)
            finally:
                receiver.stop()
            with store.engine.connect() as connection:
                listed = suppressions.list_suppressions(connection)
            assert [(s["address"], s["reason"], s["source"]) for s in listed] == \
                [("pat@acme.test", "hard_bounce", "smtp")]

            clock.advance(timedelta(seconds=1))
            assert dispatcher.dispatch() == 1
            assert len(collector.received) == 1  # nothing more was sent
            with store.engine.connect() as connection:
                skipped = outbox.delivery(connection, thanks[0])
            assert skipped is not None
            assert (skipped["status"], skipped["reason"]) == ("skipped", "suppressed")
    finally:
        store.close()
        service.close()


def test_the_bounce_receiver_refuses_nothing_and_records_only_reports(
        database_url: str) -> None:
    """A message that is no report, or a return path not signed by us, records nothing."""
    service = Service(database_url, ManualClock(START))
    try:
        receiver = BounceReceiver(service.store.engine, SECRET, lambda: START)
        plain = EmailMessage()
        plain["Subject"] = "out of office"
        plain.set_content("I am away")
        assert receiver.take(["bounces+1-00000000000000000000@vendor.test"], plain.as_bytes()) == []
        # Not signed by us: anyone can write a report naming anyone; nothing is recorded.
        assert receiver.take(["bounces@vendor.test"], postfix_dsn("a@b.test", "5.1.1")) == []
        with service.store.engine.connect() as connection:
            assert suppressions.list_suppressions(connection) == []
            assert suppressions.bounce_counts(connection, ["a@b.test"]) == {}
    finally:
        service.close()


def test_a_signed_return_path_vouches_only_for_the_address_its_email_went_to(
        database_url: str) -> None:
    """The bounce port is open to anyone: a report naming someone else than the email its
    signed return path names suppresses no one, and a report on our email does."""
    service = Service(database_url, ManualClock(START))
    try:
        with service.store.engine.begin() as connection:
            effect = 7001
            connection.execute(sa.insert(t.effects).values(
                id=effect, key="k1", channel="email", status="delivered", at=START, journey="j",
                node="n", account="acme", person="ada", attempts=1,
                payload={"to": "ada@acme.test", "subject": "Hi"}))
        verp = verp_address("bounces@vendor.test", SECRET, effect)
        receiver = BounceReceiver(service.store.engine, SECRET, lambda: START)
        assert receiver.take([verp], postfix_dsn("ceo@victim.test", "5.1.1")) == []
        with service.store.engine.connect() as connection:
            assert suppressions.list_suppressions(connection) == []
        [bounce] = receiver.take([verp], postfix_dsn("ada@acme.test", "5.1.1"))
        assert (bounce.address, bounce.kind, bounce.effect) == ("ada@acme.test", "hard", effect)
        with service.store.engine.connect() as connection:
            assert [s["address"] for s in suppressions.list_suppressions(connection)] == [
                "ada@acme.test"]
    finally:
        service.close()
