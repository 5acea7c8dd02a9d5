"""The bridge's configuration: one typed object, built once from the environment at start."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass


class SettingsError(ValueError):
    """The environment does not describe a runnable bridge; the message says how to fix it."""


@dataclass(frozen=True)
class Settings:
    redis_url: str = "redis://127.0.0.1:6379/0"
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_timeout_s: float = 20.0
    host: str = "127.0.0.1"
    port: int = 8080
    # The address customers and Telegram reach the bridge at (used to register the webhook).
    public_url: str = "http://127.0.0.1:8080"
    # Names this process in the Redis consumer groups; keep it stable across restarts so a
    # restarted process picks up the deliveries it had in flight.
    instance: str = "bridge-1"
    slack_bot_token: str = ""
    slack_signing_secret: str = ""
    slack_channel_id: str = ""
    slack_api_url: str = "https://slack.com/api/"
    telegram_bot_token: str = ""
    telegram_webhook_secret: str = ""
    telegram_api_url: str = "https://api.telegram.org/bot"
    telegram_file_url: str = "https://api.telegram.org/file/bot"
    # Registers the webhook at start; turn off when it is managed elsewhere.
    telegram_set_webhook: bool = True
    # Signs widget session tokens. Empty: one is generated and kept in Redis, shared by replicas.
    widget_secret: str = ""
    max_send_attempts: int = 8

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_bot_token)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        get = env.get
        missing = [
            name
            for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_CHANNEL_ID")
            if not get(name)
        ]
        if missing:
            raise SettingsError(
                "missing " + ", ".join(missing) + ": the bridge needs a Slack app to hand "
                "conversations to staff. Set them (see README, 'Real Slack and Telegram'), "
                "or run `make run`, which starts a local Slack when none is configured."
            )
        if get("TELEGRAM_BOT_TOKEN") and not get("TELEGRAM_WEBHOOK_SECRET"):
            raise SettingsError(
                "TELEGRAM_WEBHOOK_SECRET is missing: Telegram must sign webhook calls. "
                "Set it to a random string of 1-256 characters A-Z a-z 0-9 _ -."
            )
        port = _int(get("BRIDGE_PORT", "8080"), "BRIDGE_PORT")
        return cls(
            redis_url=get("REDIS_URL", cls.redis_url),
            rasa_url=get("RASA_URL", cls.rasa_url).rstrip("/"),
            rasa_timeout_s=float(get("RASA_TIMEOUT_S", str(cls.rasa_timeout_s))),
            host=get("BRIDGE_HOST", cls.host),
            port=port,
            public_url=get("BRIDGE_PUBLIC_URL", f"http://127.0.0.1:{port}").rstrip("/"),
            instance=get("BRIDGE_INSTANCE", socket.gethostname() + "-bridge"),
            slack_bot_token=get("SLACK_BOT_TOKEN", ""),
            slack_signing_secret=get("SLACK_SIGNING_SECRET", ""),
            slack_channel_id=get("SLACK_CHANNEL_ID", ""),
            slack_api_url=_with_slash(get("SLACK_API_URL", cls.slack_api_url)),
            telegram_bot_token=get("TELEGRAM_BOT_TOKEN", ""),
            telegram_webhook_secret=get("TELEGRAM_WEBHOOK_SECRET", ""),
            telegram_api_url=get("TELEGRAM_API_URL", cls.telegram_api_url),
            telegram_file_url=get("TELEGRAM_FILE_URL", cls.telegram_file_url),
            telegram_set_webhook=get("TELEGRAM_SET_WEBHOOK", "true").lower() != "false",
            widget_secret=get("WIDGET_SECRET", ""),
            max_send_attempts=_int(
                get("BRIDGE_MAX_SEND_ATTEMPTS", "8"), "BRIDGE_MAX_SEND_ATTEMPTS"
            ),
        )


def _int(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {value!r}") from None


def _with_slash(url: str) -> str:
    # slack_sdk joins base_url and the method name without adding a slash.
    return url if url.endswith("/") else url + "/"
