"""The webhook channel: one signed HTTP request per effect, over httpx.

Each request carries ``X-Itinera-Key`` (the effect's idempotency key, so a receiver can drop a
retried duplicate), ``X-Itinera-Timestamp`` (Unix seconds) and ``X-Itinera-Signature:
sha256=<hex>``, the HMAC-SHA256 under the signing secret of ``"<timestamp>.<body bytes>"``;
receivers check it with :func:`verify_signature`. The body is the effect's ``body`` as compact
JSON (``Content-Type: application/json``); GET, and an effect without a body, send none.

Targets are checked by :func:`itinera.channels.addresses.resolve_target` and the request goes to
the checked address (Host header and TLS server name stay the URL's). Redirects are not followed
and proxies from the environment are not used, so a request reaches exactly the address that was
checked. Connections are kept alive (a fresh TCP connection per webhook cost most of a delivery's
CPU): each URL origin (scheme, host, port) has a pool of its own, and within it a connection is
kept for the checked address it was opened to — a host that later resolves elsewhere gets a new
connection, and a TLS connection verified for one host name never carries another's requests.
Pools idle for 4 s are closed, and at most 64 are kept. Requests go to httpx's transport
directly, not through ``httpx.Client``: no cookies or redirect handling to pay for; a URL's
``user:password@`` becomes Basic authentication (httpx's) and is left out of messages. A request
whose connection closed without an answer (most often a kept one the receiver closed just as it
was reused) is sent once more at once (a receiver drops repeats by ``X-Itinera-Key``).

One attempt per ``deliver``: timeouts, connection failures, 408, 429 and 5xx are retryable; other
4xx, redirects and refused targets are permanent.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any

import httpx

from itinera.channels.addresses import Resolver, Target, resolve_target
from itinera.channels.base import (
    Delivery,
    PermanentError,
    RetryableError,
    expect_channel,
    payload_text,
)
from itinera.channels.settings import ChannelSettings, WebhookSettings
from itinera.storage.store import Effect

__all__ = ["METHODS", "WebhookChannel", "from_settings", "sign", "verify_signature"]

_NAME = "webhook"
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
_SNIPPET = 512  # bytes of a failed response's body kept in the error message
_ORIGINS = 64  # URL origins whose connection pools are kept (least recently used dropped)
# Idle connections are closed before common receivers' own idle timeouts (Node's is 5 s), so a
# kept connection is rarely one the receiver is closing.
_IDLE = 4.0
_KEEPALIVE = httpx.Limits(max_connections=None, max_keepalive_connections=16, keepalive_expiry=_IDLE)


@dataclass
class _Pool:
    """An origin's connections, with how many requests use them now and when one last did."""

    transport: httpx.HTTPTransport
    in_flight: int = 0
    used: float = field(default_factory=time.monotonic)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Itinera-Signature`` value of a request: ``sha256=<hex hmac>``."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify_signature(secret: str, timestamp: str, body: bytes, header: str, *,
                     max_age: float | None = None, now: float | None = None) -> bool:
    """Whether ``header`` is the signature of ``body`` sent at ``timestamp`` (constant time).

    With ``max_age`` (seconds), an older or future-dated timestamp fails too, which stops replays.
    """
    if not timestamp.isdigit():
        return False
    if max_age is not None:
        current = time.time() if now is None else now
        if abs(current - int(timestamp)) > max_age:
            return False
    return hmac.compare_digest(header.encode("utf-8", "replace"),
                               sign(secret, timestamp, body).encode("ascii"))


class WebhookChannel:
    """Sends ``webhook`` effects (payload: url, method, body)."""

    name = _NAME

    def __init__(self, settings: WebhookSettings, *, clock: Callable[[], float] = time.time,
                 resolver: Resolver = socket.getaddrinfo,
                 verify: ssl.SSLContext | bool = True) -> None:
        self.settings = settings
        self._clock = clock
        self._resolver = resolver
        # One TLS context for every pool: loading the CA bundle costs about 14 ms and 0.7 MB.
        self._tls = verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(
            verify=verify, trust_env=False)
        self._timeout = httpx.Timeout(settings.timeout).as_dict()
        self._pools: OrderedDict[tuple[str, str, int], _Pool] = OrderedDict()
        self._pools_lock = threading.Lock()  # the dispatcher delivers from several threads
        self._swept = time.monotonic()

    def deliver(self, effect: Effect) -> Delivery:
        expect_channel(_NAME, effect)
        if effect.status == "skipped":
            return Delivery(False, f"skipped: {effect.payload.get('reason')}")
        url = payload_text(_NAME, effect, "url")
        method = str(effect.payload.get("method") or "POST").upper()
        return self.call(effect.key, url, method, effect.payload.get("body"))

    def call(self, key: str, url: str, method: str, body: Any) -> Delivery:
        """One signed request carrying idempotency key ``key``; raises like :meth:`deliver`."""
        if method not in METHODS:
            raise PermanentError(f"unsupported method {method!r}", channel=_NAME)
        target = resolve_target(url, allow_private=self.settings.allow_private,
                                allowed_hosts=self.settings.allowed_hosts, resolver=self._resolver)
        content = b"" if method == "GET" or body is None else _json(body)
        timestamp = str(int(self._clock()))
        original = httpx.URL(url)
        headers = {"Host": original.netloc.decode("ascii"), "User-Agent": "Itinera-Webhook",
                   "Accept": "*/*", "X-Itinera-Key": key, "X-Itinera-Timestamp": timestamp,
                   "X-Itinera-Signature": sign(self.settings.signing_secret.get_secret_value(),
                                               timestamp, content)}
        if content:
            headers["Content-Type"] = "application/json"
        extensions: dict[str, Any] = {"timeout": self._timeout}
        if target.scheme == "https":
            extensions["sni_hostname"] = target.host
        request = httpx.Request(method, original.copy_with(host=target.address, username=None,
                                                           password=None),
                                content=content or None, headers=headers, extensions=extensions)
        if original.userinfo:  # https://user:secret@host/...: Basic authentication, as clients do
            request = next(httpx.BasicAuth(original.username, original.password)
                           .sync_auth_flow(request))
            url = str(original.copy_with(username=None, password=None))  # never in messages
        try:
            response, snippet = self._send(target, request)
        except httpx.TimeoutException as error:
            raise RetryableError(f"{method} {url} timed out: {error!r}", channel=_NAME) from error
        except httpx.TransportError as error:
            raise RetryableError(f"{method} {url} failed: {error!r}", channel=_NAME) from error
        except httpx.HTTPError as error:
            raise PermanentError(f"{method} {url} cannot be sent: {error!r}", channel=_NAME) from error
        status = response.status_code
        if 200 <= status < 300:
            return Delivery(True, f"{method} {url}: HTTP {status}",
                            response.headers.get("X-Request-Id"))
        detail = f"{method} {url}: HTTP {status} {snippet}".rstrip()
        if status in (408, 429) or status >= 500:
            raise RetryableError(detail, channel=_NAME, code=status,
                                 retry_after=_retry_after(response.headers.get("Retry-After")))
        if 300 <= status < 400:
            detail += f" (redirect to {response.headers.get('Location')!r} not followed)"
        raise PermanentError(detail, channel=_NAME, code=status)

    def _send(self, target: Target, request: httpx.Request) -> tuple[httpx.Response, str]:
        """The response to ``request`` on the target's pool, with the start of its body."""
        pool = self._take(target)
        try:
            try:
                response = pool.transport.handle_request(request)
            except httpx.RemoteProtocolError:
                # Most often a kept connection the receiver closed as we reused it (the pool
                # has dropped it): once more. A receiver drops a repeat by its key.
                response = pool.transport.handle_request(request)
            try:
                return response, _read_some(response)
            finally:
                response.close()
        finally:
            with self._pools_lock:
                pool.in_flight -= 1
                pool.used = time.monotonic()

    def _take(self, target: Target) -> _Pool:
        """The pool of the target's origin, counted in use until :meth:`_send` is done."""
        origin = (target.scheme, target.host, target.port)
        closing: list[_Pool] = []
        with self._pools_lock:
            pool = self._pools.get(origin)
            if pool is None:
                pool = self._pools[origin] = _Pool(httpx.HTTPTransport(
                    verify=self._tls, trust_env=False, limits=_KEEPALIVE))
            self._pools.move_to_end(origin)
            pool.in_flight += 1
            closing = self._sweep()
        for idle in closing:  # outside the lock: closing sockets may take a moment
            idle.transport.close()
        return pool

    def _sweep(self) -> list[_Pool]:
        """Pools to close (with the lock held): beyond :data:`_ORIGINS`, the least recently used
        ones; and every second, those idle past the keep-alive expiry, whose connections would
        otherwise stay open until their origin is called again. Never one in use."""
        now = time.monotonic()
        sweep = now - self._swept >= 1.0
        if sweep:
            self._swept = now
        closing = []
        for origin, pool in list(self._pools.items()):
            if pool.in_flight:
                continue
            if len(self._pools) > _ORIGINS or (sweep and now - pool.used > _IDLE):
                closing.append(self._pools.pop(origin))
            elif not sweep:
                break  # oldest first: the rest are more recent
        return closing

    def close(self) -> None:
        with self._pools_lock:
            pools, self._pools = list(self._pools.values()), OrderedDict()
        for pool in pools:
            pool.transport.close()

    def __enter__(self) -> WebhookChannel:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


def from_settings(settings: ChannelSettings) -> WebhookChannel | None:
    """The webhook channel, when webhooks are configured."""
    return None if settings.webhook is None else WebhookChannel(settings.webhook)


def _json(body: Any) -> bytes:
    try:
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as error:
        raise PermanentError(f"the webhook body is not JSON: {error}", channel=_NAME) from error


def _read_some(response: httpx.Response) -> str:
    data = b""
    for chunk in response.iter_bytes():
        data += chunk
        if len(data) >= _SNIPPET:
            break
    return data[:_SNIPPET].decode("utf-8", "replace").strip()


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None
