"""Channel settings (models, ``ITINERA_*`` environment variables) and the channel registry."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from itinera.channels import (
    CampaignChannel,
    Channel,
    ChannelSettings,
    ChannelSettingsError,
    Delivery,
    EmailChannel,
    SmtpSettings,
    TaskChannel,
    WebhookChannel,
    build_channels,
    close_channels,
    register_channel,
    registered_channels,
    unregister_channel,
)
from itinera.storage.store import Effect

ENV = {
    "ITINERA_SMTP_HOST": "smtp.example.test",
    "ITINERA_SMTP_PORT": "465",
    "ITINERA_SMTP_SSL": "true",
    "ITINERA_SMTP_STARTTLS": "false",
    "ITINERA_SMTP_USERNAME": "mailer",
    "ITINERA_SMTP_PASSWORD": "s3cret",
    "ITINERA_SMTP_FROM_ADDRESS": "cs@vendor.test",
    "ITINERA_SMTP_FROM_NAME": "",
    "ITINERA_WEBHOOK_SIGNING_SECRET": "whsec",
    "ITINERA_WEBHOOK_ALLOWED_HOSTS": "hooks.internal, 10.1.0.0/16,",
    "ITINERA_UNSUBSCRIBE_BASE_URL": "https://app.example.test/unsubscribe",
    "ITINERA_UNSUBSCRIBE_SECRET": "unsub",
    "ITINERA_CAMPAIGN_WEBHOOKS": '{"Product X nurture": "https://hooks.example.test/px"}',
    "UNRELATED": "x",
}


def test_settings_from_env() -> None:
    settings = ChannelSettings.from_env(ENV)
    assert settings.smtp is not None and settings.webhook is not None
    assert settings.unsubscribe is not None
    assert (settings.smtp.port, settings.smtp.ssl, settings.smtp.starttls) == (465, True, False)
    assert settings.smtp.from_name is None and settings.smtp.timeout == 10
    assert settings.smtp.password is not None
    assert settings.smtp.password.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(settings) and "whsec" not in repr(settings)
    assert settings.webhook.allowed_hosts == ["hooks.internal", "10.1.0.0/16"]
    assert settings.webhook.allow_private is False
    assert settings.campaign_webhooks == {"Product X nurture": "https://hooks.example.test/px"}
    assert ChannelSettings.from_env({}) == ChannelSettings()


def test_invalid_env_names_every_problem() -> None:
    env = {"ITINERA_SMTP_HOST": "smtp.example.test", "ITINERA_SMTP_PORT": "many",
           "ITINERA_WEBHOOK_TIMEOUT": "5"}
    with pytest.raises(ChannelSettingsError) as raised:
        ChannelSettings.from_env(env)
    message = str(raised.value)
    for name in ("ITINERA_SMTP_PORT", "ITINERA_SMTP_FROM_ADDRESS",
                 "ITINERA_WEBHOOK_SIGNING_SECRET"):
        assert name in message
    with pytest.raises(ChannelSettingsError, match="unknown channel settings: ITINERA_WEBHOOK_SECRET"):
        ChannelSettings.from_env({"ITINERA_WEBHOOK_SECRET": "whsec", "ITINERA_TEST_POSTGRES": "x"})
    with pytest.raises(ChannelSettingsError, match="not JSON"):
        ChannelSettings.from_env({"ITINERA_CAMPAIGN_WEBHOOKS": "px=https://x"})


def test_settings_check_their_dependencies() -> None:
    smtp = SmtpSettings(host="smtp.example.test", from_address="cs@vendor.test")
    assert (smtp.port, smtp.starttls, smtp.ssl) == (587, True, False)
    with pytest.raises(ValidationError, match="unsubscribe"):
        ChannelSettings(smtp=smtp)
    with pytest.raises(ValidationError, match="webhook settings"):
        ChannelSettings(campaign_webhooks={"px": "https://hooks.example.test/px"})
    with pytest.raises(ValidationError, match="exclude each other"):
        SmtpSettings(host="h", from_address="cs@vendor.test", ssl=True)
    with pytest.raises(ValidationError, match="needs a password"):
        SmtpSettings(host="h", from_address="cs@vendor.test", username="mailer")
    with pytest.raises(ValidationError):
        SmtpSettings(host="h", from_address="not an address")


def test_build_channels() -> None:
    assert sorted(build_channels(ChannelSettings())) == ["campaign", "task"]
    channels = build_channels(ChannelSettings.from_env(ENV))
    assert sorted(channels) == ["campaign", "email", "task", "webhook"]
    assert isinstance(channels["email"], EmailChannel)
    assert isinstance(channels["webhook"], WebhookChannel)
    assert isinstance(channels["task"], TaskChannel)
    campaign = channels["campaign"]
    assert isinstance(campaign, CampaignChannel) and campaign.webhooks
    assert all(isinstance(c, Channel) and c.name == n for n, c in channels.items())
    close_channels(channels)


class SmsChannel:
    name = "sms"

    def deliver(self, effect: Effect) -> Delivery:
        return Delivery(True, "texted")


def test_plugins_register_by_name() -> None:
    register_channel("sms", lambda settings: SmsChannel())
    try:
        assert "sms" in registered_channels()
        assert isinstance(build_channels(ChannelSettings())["sms"], SmsChannel)
        with pytest.raises(ChannelSettingsError, match="already registered"):
            register_channel("sms", lambda settings: SmsChannel())
        register_channel("texts", lambda settings: SmsChannel())
        with pytest.raises(ChannelSettingsError, match="built channel 'sms'"):
            build_channels(ChannelSettings())
    finally:
        unregister_channel("sms")
        unregister_channel("texts")
    assert "sms" not in registered_channels()
