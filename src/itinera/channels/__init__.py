"""Channels: the plugins that deliver effects to the outside world.

``build_channels(ChannelSettings.from_env())`` gives each configured channel by name; the
dispatcher calls ``channel.deliver(effect)`` once per attempt and gets a :class:`Delivery`, or a
:class:`RetryableError` (try again later) or :class:`PermanentError` (give up).

- ``email`` — SMTP with STARTTLS/TLS and login, List-Unsubscribe and an unsubscribe link.
- ``webhook`` — signed JSON over httpx; private-address targets refused unless allowed.
- ``task`` — stored, not sent; ``campaign`` — stored, or sent to a configured campaign webhook.
"""

from itinera.channels.addresses import Target, address_problem, resolve_target
from itinera.channels.base import (
    Channel,
    ChannelError,
    ChannelSettingsError,
    Delivery,
    PermanentError,
    RetryableError,
)
from itinera.channels.campaign import CampaignChannel
from itinera.channels.email import EmailChannel
from itinera.channels.registry import (
    ChannelFactory,
    build_channels,
    close_channels,
    register_channel,
    registered_channels,
    unregister_channel,
)
from itinera.channels.settings import (
    ChannelSettings,
    SmtpSettings,
    UnsubscribeSettings,
    WebhookSettings,
)
from itinera.channels.task import TaskChannel
from itinera.channels.unsubscribe import make_token, unsubscribe_url, verify_token
from itinera.channels.webhook import WebhookChannel, sign, verify_signature

__all__ = [
    "CampaignChannel",
    "Channel",
    "ChannelError",
    "ChannelFactory",
    "ChannelSettings",
    "ChannelSettingsError",
    "Delivery",
    "EmailChannel",
    "PermanentError",
    "RetryableError",
    "SmtpSettings",
    "Target",
    "TaskChannel",
    "UnsubscribeSettings",
    "WebhookChannel",
    "WebhookSettings",
    "address_problem",
    "build_channels",
    "close_channels",
    "make_token",
    "register_channel",
    "registered_channels",
    "resolve_target",
    "sign",
    "unregister_channel",
    "unsubscribe_url",
    "verify_signature",
    "verify_token",
]
