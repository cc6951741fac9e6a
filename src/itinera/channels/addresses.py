"""Where outgoing HTTP calls may go: URL and address checks against server-side request forgery.

:func:`resolve_target` resolves a URL's host and refuses it when any of its addresses is
private, loopback, link-local, multicast, reserved, unspecified, shared (CGNAT, 100.64.0.0/10)
or otherwise not globally reachable — IPv4 and IPv6 alike, looking inside IPv4-mapped, 6to4 and
NAT64 addresses — unless private targets are allowed or the host is explicitly allowed. The
caller then connects to the checked address (never resolving the name again), so a name that
re-resolves to an internal address between check and call (DNS rebinding) cannot slip through.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from itinera.channels.base import PermanentError, RetryableError

__all__ = ["Target", "address_problem", "resolve_target"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[..., Sequence[tuple[Any, ...]]]

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SCHEMES = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Target:
    """A checked destination: the URL's scheme, host and port, and the address to connect to."""

    scheme: str
    host: str
    port: int
    address: str


def address_problem(address: IPAddress) -> str | None:
    """Why an address may not be called (``"loopback"``, ``"private"``, ...), or None if public."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:  # ::ffff:a.b.c.d is a.b.c.d on a dual-stack socket
            return address_problem(address.ipv4_mapped)
        if address in _NAT64:  # a DNS64/NAT64 gateway's view of an IPv4 address
            problem = address_problem(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
            return None if problem is None else f"{problem} (inside {address})"
        if address.sixtofour is not None:
            problem = address_problem(address.sixtofour)
            if problem is not None:
                return f"{problem} (inside {address})"
    checks = (("unspecified", address.is_unspecified), ("loopback", address.is_loopback),
              ("link-local", address.is_link_local), ("multicast", address.is_multicast),
              ("shared (CGNAT)", isinstance(address, ipaddress.IPv4Address) and address in _CGNAT),
              ("private", address.is_private), ("reserved", address.is_reserved),
              ("not globally reachable", not address.is_global))
    return next((name for name, hit in checks if hit), None)


def _allowed(host: str, address: IPAddress | None, allowed_hosts: Sequence[str]) -> bool:
    for entry in allowed_hosts:
        entry = entry.strip().lower()
        if entry == host:
            return True
        if address is not None:
            try:
                if address in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                continue
    return False


def resolve_target(url: str, *, allow_private: bool = False, allowed_hosts: Sequence[str] = (),
                   resolver: Resolver = socket.getaddrinfo) -> Target:
    """Check a URL and resolve its host to the address to call.

    Raises :class:`PermanentError` for a URL that is not http(s), has no host, or whose host
    resolves to an address that may not be called; :class:`RetryableError` when the name does not
    resolve now (DNS failures are often temporary).
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise PermanentError(f"invalid URL {url!r}: {error}", channel="webhook") from error
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise PermanentError(f"refused URL {url!r}: only http and https are allowed", channel="webhook")
    host = (parts.hostname or "").lower()
    if not host:
        raise PermanentError(f"refused URL {url!r}: no host", channel="webhook")
    port = port if port is not None else _SCHEMES[scheme]
    try:
        infos = resolver(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise RetryableError(f"cannot resolve {host!r}: {error}", channel="webhook") from error
    addresses: list[IPAddress] = []
    for info in infos:
        text = str(info[4][0]).split("%", 1)[0]  # drop an IPv6 scope id
        address = ipaddress.ip_address(text)
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise RetryableError(f"{host!r} resolves to no address", channel="webhook")
    if not allow_private and not _allowed(host, None, allowed_hosts):
        for address in addresses:
            problem = address_problem(address)
            if problem is not None and not _allowed(host, address, allowed_hosts):
                raise PermanentError(f"refused target {host!r}: {address} is {problem}",
                                     channel="webhook")
    return Target(scheme, host, port, str(addresses[0]))
