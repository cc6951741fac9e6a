"""What every channel shares: the ``Channel`` protocol, the ``Delivery`` result and the errors.

A channel delivers one effect (an email, a webhook call, a task, a campaign entry) to the outside
world in one attempt. It returns a :class:`Delivery` when the effect was handled, or raises a
:class:`RetryableError` (worth trying again later: a timeout, a refused connection, a 5xx, a 429,
an SMTP 4xx) or a :class:`PermanentError` (trying again cannot help: a 4xx, an SMTP 5xx, a
refused target, a malformed effect). Retrying, backing off and giving up are the dispatcher's job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, overload, runtime_checkable

from itinera.errors import ItineraError
from itinera.storage.store import Effect

__all__ = [
    "Channel",
    "ChannelError",
    "ChannelSettingsError",
    "Delivery",
    "PermanentError",
    "RetryableError",
    "expect_channel",
    "payload_text",
]


@dataclass(frozen=True)
class Delivery:
    """The outcome of handling one effect.

    ``delivered`` is false only when the channel deliberately sent nothing (an effect recorded as
    ``skipped``); failures are raised, never returned. ``detail`` says what happened and
    ``provider_id`` is what the other side knows the delivery by (an email's Message-ID), if any.
    """

    delivered: bool
    detail: str = ""
    provider_id: str | None = None


class ChannelError(ItineraError):
    """A channel could not deliver an effect, or cannot be built from its settings."""

    def __init__(self, message: str, *, channel: str | None = None, code: int | None = None) -> None:
        super().__init__(message)
        self.channel = channel
        self.code = code  # the HTTP status or SMTP reply code, when there was one


class RetryableError(ChannelError):
    """A failure that may pass if the same effect is delivered again later.

    ``retry_after`` is how many seconds the other side asked to wait (HTTP ``Retry-After``), if
    it said so.
    """

    def __init__(self, message: str, *, channel: str | None = None, code: int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message, channel=channel, code=code)
        self.retry_after = retry_after


class PermanentError(ChannelError):
    """A failure that delivering the same effect again cannot fix."""


class ChannelSettingsError(ChannelError):
    """Channel settings that are missing or invalid (raised when loading or building channels)."""


@runtime_checkable
class Channel(Protocol):
    """Delivers effects of one channel name (``email``, ``webhook``, ``task``, ``campaign``)."""

    name: str

    def deliver(self, effect: Effect) -> Delivery:
        """Make one attempt; return the delivery or raise Retryable/PermanentError."""
        ...


def expect_channel(name: str, effect: Effect) -> None:
    """Refuse an effect meant for another channel (a dispatcher routing bug, never retried)."""
    if effect.channel != name:
        raise PermanentError(f"effect {effect.key!r} is for channel {effect.channel!r}, not {name!r}",
                             channel=name)


@overload
def payload_text(name: str, effect: Effect, field: str) -> str: ...


@overload
def payload_text(name: str, effect: Effect, field: str, *, required: bool) -> str | None: ...


def payload_text(name: str, effect: Effect, field: str, *, required: bool = True) -> str | None:
    """A text field of an effect's payload; a missing or non-text required field is permanent."""
    value: Any = effect.payload.get(field)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value):
        raise PermanentError(f"effect {effect.key!r} has no usable {field!r}", channel=name)
    return value
