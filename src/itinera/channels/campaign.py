"""The campaign channel: membership of an external campaign (e.g. a Marketo program).

When ``campaign_webhooks`` names a URL for the effect's campaign, delivering calls it through the
webhook channel (signed, address-checked, same failure classes) with a JSON body naming the
campaign, person, account, journey and node; otherwise membership lives in the store and
delivering only acknowledges it.
"""

from __future__ import annotations

from collections.abc import Mapping

from itinera.channels.base import ChannelSettingsError, Delivery, expect_channel, payload_text
from itinera.channels.settings import ChannelSettings
from itinera.channels.webhook import WebhookChannel
from itinera.storage.store import Effect
from itinera.timeutil import format_instant

__all__ = ["CampaignChannel", "from_settings"]

_NAME = "campaign"


class CampaignChannel:
    """Delivers ``campaign`` effects (payload: campaign) to the campaign's webhook, if any."""

    name = _NAME

    def __init__(self, webhooks: Mapping[str, str] | None = None,
                 webhook: WebhookChannel | None = None) -> None:
        self.webhooks = dict(webhooks or {})
        if self.webhooks and webhook is None:
            raise ChannelSettingsError("campaign webhooks need a webhook channel", channel=_NAME)
        self._webhook = webhook

    def deliver(self, effect: Effect) -> Delivery:
        expect_channel(_NAME, effect)
        campaign = payload_text(_NAME, effect, "campaign")
        url = self.webhooks.get(campaign)
        if url is None or self._webhook is None:
            return Delivery(True, f"member of {campaign!r} (no campaign webhook)")
        body = {"campaign": campaign, "person": effect.person, "account": effect.account,
                "journey": effect.journey, "node": effect.node, "at": format_instant(effect.at)}
        return self._webhook.call(effect.key, url, "POST", body)

    def close(self) -> None:
        if self._webhook is not None:
            self._webhook.close()


def from_settings(settings: ChannelSettings) -> CampaignChannel:
    """The campaign channel, with its own webhook client when campaign webhooks are configured."""
    if not settings.campaign_webhooks or settings.webhook is None:
        return CampaignChannel()
    return CampaignChannel(settings.campaign_webhooks, WebhookChannel(settings.webhook))
