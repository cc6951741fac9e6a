"""The webhook and campaign channels against a real HTTP server on loopback (http.server in a
thread): body, headers and signature, failure classification, timeouts, and the refusal of
private, loopback, link-local and CGNAT targets."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from itinera.channels import (
    CampaignChannel,
    PermanentError,
    RetryableError,
    Target,
    TaskChannel,
    WebhookChannel,
    WebhookSettings,
    resolve_target,
    verify_signature,
)
from itinera.storage.store import Effect

SECRET = "whsec-test"
NOW = 1_767_600_000


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Records every request; answers with ``status`` (and ``headers``) after ``delay`` seconds."""

    port: int = 0
    status: int = 200
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)

    def url(self, path: str = "/hook", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


def handler_for(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def handle_any(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            receiver.requests.append(Request(self.command, self.path,
                                             {k.lower(): v for k, v in self.headers.items()}, body))
            time.sleep(receiver.delay)
            answer = b'{"ok": true}' if receiver.status < 300 else b"something went wrong"
            try:
                self.send_response(receiver.status)
                for name, value in receiver.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
            except OSError:  # the client gave up (timeout test)
                pass

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(receiver))
    server.daemon_threads = True
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()


def channel(**overrides: Any) -> WebhookChannel:
    values: dict[str, Any] = {"signing_secret": SECRET, "allow_private": True, "timeout": 5}
    return WebhookChannel(WebhookSettings(**{**values, **overrides}), clock=lambda: NOW + 0.7)


def effect(url: str, method: str = "POST", body: Any = None, channel: str = "webhook",
           **payload: Any) -> Effect:
    return Effect(key="9:4:1:-", channel=channel, status="pending",
                  at=datetime(2026, 1, 5, 9, tzinfo=UTC), journey="renewals", node="notify",
                  account="acme", person="p-ceo",
                  payload={"url": url, "method": method, "body": body, **payload})


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_post_sends_signed_json(receiver: Receiver) -> None:
    body = {"account": "acme", "renewal_in_days": 90, "name": "Bodea — Café"}
    with channel() as webhook:
        delivery = webhook.deliver(effect(receiver.url("/hooks/crm?source=itinera"), body=body))
    assert delivery.delivered and "HTTP 200" in delivery.detail
    [request] = receiver.requests
    assert (request.method, request.path) == ("POST", "/hooks/crm?source=itinera")
    assert json.loads(request.body) == body
    assert request.body == json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    headers = request.headers
    assert headers["content-type"] == "application/json"
    assert headers["host"] == f"127.0.0.1:{receiver.port}"
    assert headers["x-itinera-key"] == "9:4:1:-"
    assert headers["x-itinera-timestamp"] == str(NOW)
    signature = headers["x-itinera-signature"]
    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    assert verify_signature(SECRET, str(NOW), request.body, signature)
    assert verify_signature(SECRET, str(NOW), request.body, signature, max_age=300, now=NOW + 10)
    assert not verify_signature(SECRET, str(NOW), request.body, signature, max_age=300, now=NOW + 301)
    assert not verify_signature(SECRET, str(NOW), request.body + b" ", signature)
    assert not verify_signature(SECRET, str(NOW + 1), request.body, signature)
    assert not verify_signature("other", str(NOW), request.body, signature)
    assert not verify_signature(SECRET, "not-a-time", request.body, signature)


def test_get_sends_no_body(receiver: Receiver) -> None:
    with channel() as webhook:
        webhook.deliver(effect(receiver.url("/ping"), method="get", body={"ignored": True}))
    [request] = receiver.requests
    assert (request.method, request.body) == ("GET", b"")
    assert "content-type" not in request.headers
    assert verify_signature(SECRET, str(NOW), b"", request.headers["x-itinera-signature"])


def test_the_checked_address_is_the_one_called(receiver: Receiver) -> None:
    """The name is resolved once, checked, and the request goes to that address with the
    original Host header — a later, different answer for the name is never used."""
    answers = {"hooks.example.test": "127.0.0.1", "rebind.example.test": "10.0.0.5"}

    def resolver(host: str, port: int, **_: Any) -> list[tuple[Any, ...]]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]

    settings = WebhookSettings(signing_secret=SECRET, allowed_hosts=["HOOKS.example.test"])
    with WebhookChannel(settings, resolver=resolver) as webhook:
        webhook.deliver(effect(receiver.url(host="hooks.example.test")))
        assert receiver.requests[0].headers["host"] == f"hooks.example.test:{receiver.port}"
        with pytest.raises(PermanentError, match=r"10\.0\.0\.5 is private"):
            webhook.deliver(effect(receiver.url(host="rebind.example.test")))
    assert len(receiver.requests) == 1


@pytest.mark.parametrize(("status", "error"), [
    (500, RetryableError), (502, RetryableError), (503, RetryableError), (429, RetryableError),
    (408, RetryableError), (400, PermanentError), (401, PermanentError), (404, PermanentError),
    (422, PermanentError), (301, PermanentError),
])
def test_statuses_are_classified(receiver: Receiver, status: int, error: type[Exception]) -> None:
    receiver.status = status
    receiver.headers = {"Retry-After": "30", "Location": "http://169.254.169.254/"}
    with channel() as webhook, pytest.raises(error) as raised:
        webhook.deliver(effect(receiver.url(), body={"n": 1}))
    assert getattr(raised.value, "code", None) == status
    assert "something went wrong" in str(raised.value)
    if isinstance(raised.value, RetryableError):
        assert raised.value.retry_after == 30
    assert len(receiver.requests) == 1  # one attempt, redirects not followed


def test_any_2xx_is_delivered(receiver: Receiver) -> None:
    receiver.status = 202
    with channel() as webhook:
        assert webhook.deliver(effect(receiver.url(), body={"n": 1})).delivered


def test_timeout_is_retryable(receiver: Receiver) -> None:
    receiver.delay = 2.0
    started = time.monotonic()
    with channel(timeout=0.3) as webhook, pytest.raises(RetryableError, match="timed out"):
        webhook.deliver(effect(receiver.url(), body={"n": 1}))
    assert time.monotonic() - started < 1.5


def test_connection_refused_is_retryable() -> None:
    with channel() as webhook, pytest.raises(RetryableError, match="failed"):
        webhook.deliver(effect(f"http://127.0.0.1:{free_port()}/hook"))


def test_loopback_is_refused_unless_allowed(receiver: Receiver) -> None:
    with channel(allow_private=False) as webhook, pytest.raises(PermanentError, match="loopback"):
        webhook.deliver(effect(receiver.url()))
    assert receiver.requests == []
    with channel(allow_private=False, allowed_hosts=["127.0.0.1"]) as webhook:
        assert webhook.deliver(effect(receiver.url())).delivered


@pytest.mark.parametrize(("url", "problem"), [
    ("http://127.0.0.1/", "loopback"), ("http://10.1.2.3/", "private"),
    ("http://172.16.0.1/", "private"), ("http://192.168.1.1/", "private"),
    ("http://169.254.169.254/latest/meta-data", "link-local"), ("http://100.64.0.1/", "CGNAT"),
    ("http://0.0.0.0/", "unspecified"), ("http://224.0.0.1/", "multicast"),
    ("http://240.0.0.1/", "private"), ("http://[::1]:8080/", "loopback"),
    ("http://[fd00::1]/", "private"), ("http://[fe80::1]/", "link-local"), ("http://[::]/", ""),
    ("http://[::ffff:127.0.0.1]/", "loopback"), ("http://[::ffff:10.0.0.1]/", "private"),
    ("http://[64:ff9b::a9fe:a9fe]/", "link-local"), ("http://[2002:a00:1::]/", "private"),
])
def test_internal_addresses_are_refused(url: str, problem: str) -> None:
    with pytest.raises(PermanentError, match=f"refused target.*{problem}"):
        resolve_target(url)
    assert resolve_target(url, allow_private=True).port in (80, 8080)


def test_public_addresses_pass_the_check() -> None:
    assert resolve_target("https://93.184.216.34/hook") == Target("https", "93.184.216.34", 443,
                                                                  "93.184.216.34")
    assert resolve_target("http://[2606:4700:4700::1111]:8080/x").address == "2606:4700:4700::1111"
    assert resolve_target("http://[::ffff:93.184.216.34]/").address == "::ffff:5db8:d822"


def test_allowed_hosts_may_name_networks() -> None:
    assert resolve_target("http://10.1.2.3/", allowed_hosts=["10.0.0.0/8"]).address == "10.1.2.3"
    with pytest.raises(PermanentError):
        resolve_target("http://10.1.2.3/", allowed_hosts=["192.168.0.0/16", "10.1.2.4"])


@pytest.mark.parametrize("url", ["ftp://93.184.216.34/x", "file:///etc/passwd",
                                 "gopher://93.184.216.34/", "http:///nohost", "not a url",
                                 "http://93.184.216.34:99999/"])
def test_bad_urls_are_permanent(url: str) -> None:
    with pytest.raises(PermanentError):
        resolve_target(url)


def test_malformed_effects_are_permanent(receiver: Receiver) -> None:
    with channel() as webhook:
        with pytest.raises(PermanentError, match="unsupported method"):
            webhook.deliver(effect(receiver.url(), method="TRACE"))
        with pytest.raises(PermanentError, match="'url'"):
            webhook.deliver(effect(""))
        with pytest.raises(PermanentError, match="for channel 'email'"):
            webhook.deliver(effect(receiver.url(), channel="email"))
    assert receiver.requests == []


def test_campaign_membership_calls_the_campaign_webhook(receiver: Receiver) -> None:
    member = Effect(key="9:5:0:p-ceo", channel="campaign", status="added",
                    at=datetime(2026, 1, 5, 9, tzinfo=UTC), journey="ajo", node="nurture",
                    account="acme", person="p-ceo", payload={"campaign": "Product X nurture"})
    campaigns = CampaignChannel({"Product X nurture": receiver.url("/campaigns/px")}, channel())
    assert campaigns.deliver(member).delivered
    [request] = receiver.requests
    assert request.path == "/campaigns/px" and request.headers["x-itinera-key"] == "9:5:0:p-ceo"
    assert json.loads(request.body) == {"campaign": "Product X nurture", "person": "p-ceo",
                                        "account": "acme", "journey": "ajo", "node": "nurture",
                                        "at": "2026-01-05T09:00:00Z"}
    assert verify_signature(SECRET, str(NOW), request.body, request.headers["x-itinera-signature"])
    receiver.status = 503
    with pytest.raises(RetryableError):
        campaigns.deliver(member)
    campaigns.close()
    other = Effect(key="9:5:0:p-cfo", channel="campaign", status="added", at=member.at,
                   person="p-cfo", payload={"campaign": "Webinar"})
    assert CampaignChannel().deliver(member).delivered
    assert CampaignChannel({"Product X nurture": receiver.url()}, channel()).deliver(other).delivered
    assert len(receiver.requests) == 2


def test_tasks_are_stored_not_sent() -> None:
    task = Effect(key="9:6:0:-", channel="task", status="open", at=datetime.now(UTC),
                  payload={"title": "Call Acme", "assignee": "ann"})
    assert TaskChannel().deliver(task).delivered


class RawReceiver:
    """A keep-alive HTTP/1.1 receiver on ``host`` that notes which connection carried each
    request; with ``drop_first``, its first connection reads a request and closes unanswered."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, drop_first: bool = False) -> None:
        self.listener = socket.create_server((host, port))
        self.port = self.listener.getsockname()[1]
        self.drop_first = drop_first
        self.requests: list[tuple[int, str]] = []  # (connection number, X-Itinera-Key)
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:  # closed
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(connection, self.connections),
                             daemon=True).start()

    def _serve(self, connection: socket.socket, number: int) -> None:
        with connection, connection.makefile("rb") as stream:
            while True:
                head = [stream.readline()]
                while head[-1] not in (b"\r\n", b""):
                    head.append(stream.readline())
                if head[-1] == b"":
                    return
                fields = dict(line.decode().rstrip("\r\n").lower().split(": ", 1)
                              for line in head[1:-1])
                stream.read(int(fields.get("content-length", "0")))
                self.requests.append((number, fields["x-itinera-key"]))
                if self.drop_first and number == 1:
                    return
                connection.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")

    def close(self) -> None:
        self.listener.close()


def keyed(url: str, key: str) -> Effect:
    return replace(effect(url, body={"n": key}), key=key)


def test_connections_are_kept_alive_per_checked_address() -> None:
    """Webhooks to one receiver share a kept connection; when the host name resolves to another
    address, the next request opens a connection there instead of reusing the old one."""
    first = RawReceiver("127.0.0.1")
    second = RawReceiver("127.0.0.2", first.port)
    answer = {"hooks.example.test": "127.0.0.1"}

    def resolver(host: str, port: int, **_: Any) -> list[tuple[Any, ...]]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answer[host], port))]

    url = f"http://hooks.example.test:{first.port}/hook"
    settings = WebhookSettings(signing_secret=SECRET, allowed_hosts=["hooks.example.test"])
    try:
        with WebhookChannel(settings, resolver=resolver) as webhook:
            for n in range(3):
                assert webhook.deliver(keyed(url, f"k{n}")).delivered
            answer["hooks.example.test"] = "127.0.0.2"
            assert webhook.deliver(keyed(url, "k3")).delivered
        assert first.requests == [(1, "k0"), (1, "k1"), (1, "k2")]
        assert first.connections == 1
        assert second.requests == [(1, "k3")]
    finally:
        first.close()
        second.close()


def test_a_connection_closed_unanswered_is_tried_once_more_at_once() -> None:
    receiver = RawReceiver(drop_first=True)
    try:
        with channel() as webhook:
            delivery = webhook.deliver(keyed(f"http://127.0.0.1:{receiver.port}/hook", "k0"))
        assert delivery.delivered
        assert receiver.requests == [(1, "k0"), (2, "k0")]
    finally:
        receiver.close()


def test_url_credentials_become_basic_authentication_and_stay_out_of_messages(
        receiver: Receiver) -> None:
    url = f"http://alice:s3cret@127.0.0.1:{receiver.port}/hook"
    with channel() as webhook:
        assert webhook.deliver(effect(url, body={"n": 1})).delivered
        receiver.status = 503
        with pytest.raises(RetryableError) as failure:
            webhook.deliver(effect(url, body={"n": 2}))
    assert [r.headers["authorization"] for r in receiver.requests] == [
        "Basic " + base64.b64encode(b"alice:s3cret").decode()] * 2
    assert "s3cret" not in str(failure.value)
    assert f"http://127.0.0.1:{receiver.port}/hook" in str(failure.value)


def test_connection_pools_are_bounded_and_one_in_use_is_never_closed() -> None:
    receiver = RawReceiver()

    def resolver(host: str, port: int, **_: Any) -> list[tuple[Any, ...]]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    settings = WebhookSettings(signing_secret=SECRET, allow_private=True)
    try:
        with WebhookChannel(settings, resolver=resolver) as webhook:
            for n in range(70):  # 70 origins: the least recently used pools are closed
                url = f"http://hooks{n}.example.test:{receiver.port}/hook"
                assert webhook.deliver(keyed(url, f"k{n}")).delivered
            assert len(webhook._pools) == 64
            assert ("http", "hooks69.example.test", receiver.port) in webhook._pools
            assert ("http", "hooks0.example.test", receiver.port) not in webhook._pools
        assert receiver.connections == 70
    finally:
        receiver.close()
