"""Settings: every mistake reported at start with its fix; `.env` read; docs generated."""

from __future__ import annotations

import os
import subprocess
from dataclasses import fields
from pathlib import Path

import pytest

from bridge import config_docs
from bridge.dotenv import parse_env
from bridge.settings import Settings, SettingsError, load_settings
from devstack.processes import BRIDGE_PYTHON, ROOT

SLACK = {
    "SLACK_BOT_TOKEN": "xoxb-test-token",
    "SLACK_SIGNING_SECRET": "signing-secret",
    "SLACK_CHANNEL_ID": "C0STAFF",
}


def test_bridge_refuses_to_start_and_says_what_is_missing(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TELEGRAM_"))}
    result = subprocess.run(
        [str(BRIDGE_PYTHON), "-m", "bridge"],
        cwd=tmp_path,  # no .env here
        env=env | {"BRIDGE_PORT": "eighty"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    for expected in (
        "SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_CHANNEL_ID",
        "slack-app-manifest.yml",
        "make run",
        "BRIDGE_PORT: must be a whole number, got 'eighty'",
    ):
        assert expected in result.stderr, result.stderr


def test_common_mistakes_come_with_their_fix() -> None:
    env = SLACK | {
        "SLACK_BOT_TOKEN": "xoxp-a-user-token",
        "SLACK_CHANNEL_ID": "#support",
        "TELEGRAM_BOT_TOKEN": "123:abc",
        "BRIDGE_PUBLIC_URL": "http://support.example.com",
        "TELEGRAM_SET_WEBHOOK": "maybe",
    }
    with pytest.raises(SettingsError) as error:
        Settings.from_env(env)
    message = str(error.value)
    assert "starts with xoxb-" in message
    assert "not its name" in message
    assert "TELEGRAM_WEBHOOK_SECRET is missing" in message
    assert "TELEGRAM_SET_WEBHOOK: must be true or false" in message
    env |= {"TELEGRAM_SET_WEBHOOK": "true", "TELEGRAM_WEBHOOK_SECRET": "ok-secret"}
    with pytest.raises(SettingsError, match="only calls https webhooks"):
        Settings.from_env(env | {"SLACK_BOT_TOKEN": "xoxb-x", "SLACK_CHANNEL_ID": "C1"})


def test_dotenv_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / "bridge.env"
    env_file.write_text(
        "# staff desk\n"
        "export SLACK_BOT_TOKEN=xoxb-from-file\n"
        "SLACK_SIGNING_SECRET='quoted secret'\n"
        "SLACK_CHANNEL_ID=C0FILE  # the support channel\n"
        "BRIDGE_PORT=9000\n"
    )
    settings = load_settings({"BRIDGE_ENV_FILE": str(env_file), "BRIDGE_PORT": "9100"})
    assert settings.slack_bot_token == "xoxb-from-file"
    assert settings.slack_signing_secret == "quoted secret"
    assert settings.slack_channel_id == "C0FILE"
    assert settings.port == 9100
    assert settings.public_url == "http://127.0.0.1:9100"


def test_dotenv_rejects_lines_it_cannot_read() -> None:
    with pytest.raises(ValueError, match="line 2"):
        parse_env("A=1\nnot a setting\n")


def test_every_setting_is_documented_on_its_field() -> None:
    for spec in fields(Settings):
        assert spec.metadata.get("env") and spec.metadata.get("help"), spec.name
        assert spec.metadata.get("example") or spec.metadata["secret"], spec.name


def test_configuration_reference_is_up_to_date() -> None:
    committed = (ROOT / "docs" / "configuration.md").read_text()
    assert committed == config_docs.render(), "run `make config-docs` and commit the result"
