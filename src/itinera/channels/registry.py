"""The channel registry: channel names mapped to factories that build a channel from settings.

Each built-in channel module (``email``, ``webhook``, ``task``, ``campaign``) provides a
``from_settings(settings)`` factory that returns its channel, or None when its settings are
absent. Another channel plugs in with :func:`register_channel` (and out with
:func:`unregister_channel`); :func:`build_channels` builds every registered channel that is
configured, and :func:`close_channels` releases them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from itinera.channels import campaign, email, task, webhook
from itinera.channels.base import Channel, ChannelSettingsError
from itinera.channels.settings import ChannelSettings

__all__ = ["ChannelFactory", "build_channels", "close_channels", "register_channel",
           "registered_channels", "unregister_channel"]

ChannelFactory = Callable[[ChannelSettings], Channel | None]

_FACTORIES: dict[str, ChannelFactory] = {
    "email": email.from_settings,
    "webhook": webhook.from_settings,
    "task": task.from_settings,
    "campaign": campaign.from_settings,
}


def register_channel(name: str, factory: ChannelFactory, *, replace: bool = False) -> None:
    """Make ``build_channels`` build channel ``name`` with ``factory`` (which may return None
    when its settings are absent). Registering a taken name needs ``replace=True``."""
    if name in _FACTORIES and not replace:
        raise ChannelSettingsError(f"channel {name!r} is already registered", channel=name)
    _FACTORIES[name] = factory


def unregister_channel(name: str) -> None:
    """Stop building channel ``name`` (no error if it was not registered)."""
    _FACTORIES.pop(name, None)


def registered_channels() -> list[str]:
    """The names of every registered channel."""
    return sorted(_FACTORIES)


def build_channels(settings: ChannelSettings) -> dict[str, Channel]:
    """Every configured channel by name: ``task`` and ``campaign`` always, ``email`` with SMTP
    settings, ``webhook`` with webhook settings, plus registered plugins that build."""
    channels: dict[str, Channel] = {}
    for name, factory in _FACTORIES.items():
        channel = factory(settings)
        if channel is None:
            continue
        if channel.name != name:
            raise ChannelSettingsError(f"factory for {name!r} built channel {channel.name!r}",
                                       channel=name)
        channels[name] = channel
    return channels


def close_channels(channels: Mapping[str, Channel]) -> None:
    """Release what channels hold open (HTTP clients); channels without ``close`` are skipped."""
    for channel in channels.values():
        close: Callable[[], None] | None = getattr(channel, "close", None)
        if callable(close):
            close()
