"""The declared configuration of the channels, as pydantic models.

Build :class:`ChannelSettings` directly, or with :meth:`ChannelSettings.from_env` from
``ITINERA_<GROUP>_<FIELD>`` environment variables, for example::

    ITINERA_SMTP_HOST=smtp.example.com       ITINERA_SMTP_USERNAME=mailer
    ITINERA_SMTP_FROM_ADDRESS=cs@example.com  ITINERA_SMTP_PASSWORD=...
    ITINERA_UNSUBSCRIBE_BASE_URL=https://app.example.com/unsubscribe
    ITINERA_UNSUBSCRIBE_SECRET=...            ITINERA_WEBHOOK_SIGNING_SECRET=...
    ITINERA_WEBHOOK_ALLOWED_HOSTS=hooks.internal,10.1.0.0/16   (comma-separated)
    ITINERA_CAMPAIGN_WEBHOOKS={"Product X nurture": "https://hooks.example.com/px"}   (JSON)
    ITINERA_TRACKING_BASE_URL=https://app.example.com   (tracked links and the open pixel)
    ITINERA_BOUNCES_RETURN_PATH=bounces@mail.example.com   (VERP: bounces+<token>@...)

A group is configured when any of its variables is set; its channel is then built.
Secrets are :class:`pydantic.SecretStr`, so they never show in reprs or logs.
"""

from __future__ import annotations

import json
import os
import typing
from collections.abc import Mapping
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from itinera.channels.base import ChannelSettingsError

__all__ = ["BounceSettings", "ChannelSettings", "SmtpSettings", "TrackingSettings",
           "UnsubscribeSettings", "WebhookSettings"]

_PREFIX = "ITINERA_"


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SmtpSettings(_Settings):
    """An SMTP relay. ``starttls`` upgrades a plain connection; ``ssl`` connects over TLS (465)."""

    host: str = Field(min_length=1)
    port: int = Field(default=587, gt=0, lt=65536)
    starttls: bool = True
    ssl: bool = False
    username: str | None = None
    password: SecretStr | None = None
    from_address: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    from_name: str | None = None
    timeout: float = Field(default=10, gt=0)
    local_hostname: str | None = None  # the name sent in EHLO (default: this machine's FQDN)

    @model_validator(mode="after")
    def _one_tls_mode(self) -> Self:
        if self.ssl and self.starttls:
            raise ValueError("ssl and starttls exclude each other (ssl=true needs starttls=false)")
        if self.username is not None and self.password is None:
            raise ValueError("username needs a password")
        return self


class WebhookSettings(_Settings):
    """Outgoing HTTP calls: every request is signed with ``signing_secret``.

    Targets in private, loopback, link-local, CGNAT, multicast or reserved ranges are refused
    unless ``allow_private`` is set or the host is listed in ``allowed_hosts`` (a host name, an
    address or a network such as ``10.1.0.0/16``).
    """

    timeout: float = Field(default=10, gt=0)
    signing_secret: SecretStr
    allow_private: bool = False
    allowed_hosts: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _secret_not_empty(self) -> Self:
        if not self.signing_secret.get_secret_value():
            raise ValueError("signing_secret must not be empty")
        return self


class UnsubscribeSettings(_Settings):
    """Where unsubscribe links point, and the secret their tokens are signed with.

    ``mailto`` (an address) adds a ``mailto:`` alternative to the ``List-Unsubscribe`` header.
    """

    base_url: str = Field(pattern=r"^https?://[^\s]+$")
    secret: SecretStr
    mailto: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$")

    @model_validator(mode="after")
    def _secret_not_empty(self) -> Self:
        if not self.secret.get_secret_value():
            raise ValueError("secret must not be empty")
        return self


class TrackingSettings(_Settings):
    """Where tracked links and the open pixel point: the service's public URL (its routes
    ``/t/c/{token}`` and ``/t/o/{token}``). Tokens are signed with the unsubscribe secret, under
    a domain of their own. Without it, tracking uses the unsubscribe base URL with its last
    path segment (``/unsubscribe``) removed."""

    base_url: str = Field(pattern=r"^https?://[^\s]+$")


class BounceSettings(_Settings):
    """The return path of every email: ``bounces@example.com`` becomes the envelope sender
    ``bounces+<token>@example.com`` (VERP), the token naming the effect, signed. Mail to it
    must reach ``itinera bounces`` (an MX or a forwarding rule)."""

    return_path: str = Field(pattern=r"^[^@\s+]+@[^@\s]+$")


class ChannelSettings(_Settings):
    """All channels' settings. A missing group means its channel is not built (tasks and
    campaigns need none); email needs ``unsubscribe`` and ``campaign_webhooks`` need ``webhook``."""

    smtp: SmtpSettings | None = None
    webhook: WebhookSettings | None = None
    unsubscribe: UnsubscribeSettings | None = None
    campaign_webhooks: dict[str, str] = Field(default_factory=dict)
    tracking: TrackingSettings | None = None
    bounces: BounceSettings | None = None

    @model_validator(mode="after")
    def _dependencies(self) -> Self:
        if self.smtp is not None and self.unsubscribe is None:
            raise ValueError("smtp needs unsubscribe settings (every email carries an unsubscribe link)")
        if self.campaign_webhooks and self.webhook is None:
            raise ValueError("campaign_webhooks need webhook settings (calls are signed)")
        return self

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ChannelSettings:
        """Read ``ITINERA_*`` variables (from ``os.environ`` unless given); raises
        :class:`ChannelSettingsError` listing what is wrong."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        groups: dict[str, type[_Settings]] = {"smtp": SmtpSettings, "webhook": WebhookSettings,
                                              "unsubscribe": UnsubscribeSettings,
                                              "tracking": TrackingSettings,
                                              "bounces": BounceSettings}
        unknown = sorted(name for name in env for group, model in groups.items()
                         if name.startswith(f"{_PREFIX}{group.upper()}_")
                         and name.removeprefix(f"{_PREFIX}{group.upper()}_").lower()
                         not in model.model_fields)
        if unknown:  # a misspelt secret must not pass silently
            raise ChannelSettingsError(f"unknown channel settings: {', '.join(unknown)}")
        for group, model in groups.items():
            found = {name: _env_value(raw, info.annotation)
                     for name, info in model.model_fields.items()
                     if (raw := env.get(f"{_PREFIX}{group.upper()}_{name.upper()}")) is not None}
            if found:
                values[group] = found
        campaigns = env.get(f"{_PREFIX}CAMPAIGN_WEBHOOKS")
        try:
            if campaigns:
                values["campaign_webhooks"] = json.loads(campaigns)
            return cls.model_validate(values)
        except json.JSONDecodeError as error:
            raise ChannelSettingsError(f"{_PREFIX}CAMPAIGN_WEBHOOKS is not JSON: {error}") from None
        except ValidationError as error:
            problems = "; ".join(
                f"{_PREFIX}{'_'.join(str(p) for p in e['loc']).upper() or 'settings'}: {e['msg']}"
                for e in error.errors())
            raise ChannelSettingsError(f"invalid channel settings: {problems}") from None


def _env_value(raw: str, annotation: Any) -> Any:
    if typing.get_origin(annotation) is list:
        return [item.strip() for item in raw.split(",") if item.strip()]
    if raw == "" and type(None) in typing.get_args(annotation):
        return None
    return raw
