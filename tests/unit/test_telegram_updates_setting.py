"""TELEGRAM_UPDATES: a webhook when the bridge has a public address, polling when it has none;
each mode asks only for what it needs."""

from __future__ import annotations

import pytest

from bridge.platforms.telegram.sender import callback_data
from bridge.settings import Settings, SettingsError

BASE = {
    "SLACK_BOT_TOKEN": "xoxb-test",
    "SLACK_SIGNING_SECRET": "signing-secret",
    "SLACK_CHANNEL_ID": "C0STAFF",
    "TELEGRAM_BOT_TOKEN": "123:abc",
}


def test_without_a_public_address_the_bridge_polls_and_needs_no_secret() -> None:
    settings = Settings.from_env(BASE)
    assert settings.telegram_updates == "polling" and settings.telegram_polling


def test_a_public_address_means_a_webhook_which_needs_its_secret() -> None:
    env = BASE | {"BRIDGE_PUBLIC_URL": "https://support.example.com"}
    with pytest.raises(SettingsError, match="TELEGRAM_WEBHOOK_SECRET is missing"):
        Settings.from_env(env)
    settings = Settings.from_env(env | {"TELEGRAM_WEBHOOK_SECRET": "s3cret"})
    assert settings.telegram_updates == "webhook" and not settings.telegram_polling


def test_the_https_check_applies_to_webhooks_only() -> None:
    real = BASE | {"BRIDGE_PUBLIC_URL": "http://support.example.com"}
    with pytest.raises(SettingsError, match="only calls https webhooks") as error:
        Settings.from_env(real | {"TELEGRAM_WEBHOOK_SECRET": "s3cret"})
    assert "TELEGRAM_UPDATES=polling" in str(error.value)  # the way out without an address
    settings = Settings.from_env(real | {"TELEGRAM_UPDATES": "Polling"})
    assert settings.telegram_polling and settings.public_url == "http://support.example.com"


def test_an_explicit_mode_wins_and_a_wrong_one_is_named() -> None:
    with pytest.raises(SettingsError, match="TELEGRAM_WEBHOOK_SECRET is missing"):
        Settings.from_env(BASE | {"TELEGRAM_UPDATES": "webhook"})
    with pytest.raises(SettingsError, match="TELEGRAM_UPDATES must be webhook or polling"):
        Settings.from_env(BASE | {"TELEGRAM_UPDATES": "longpoll"})
    # A secret given anyway must still be one Telegram accepts.
    with pytest.raises(SettingsError, match="TELEGRAM_WEBHOOK_SECRET is missing or malformed"):
        Settings.from_env(BASE | {"TELEGRAM_WEBHOOK_SECRET": "not valid!"})


def test_without_telegram_there_is_nothing_to_poll() -> None:
    env = {k: v for k, v in BASE.items() if k != "TELEGRAM_BOT_TOKEN"}
    assert not Settings.from_env(env).telegram_polling


def test_a_button_payload_is_cut_to_telegrams_64_bytes_not_characters() -> None:
    payload = '/inform{"product": "' + "é" * 40 + '"}'
    data = callback_data(payload)
    assert len(data.encode()) <= 64
    assert payload.startswith(data)
