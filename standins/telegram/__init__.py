"""A local Telegram Bot API, reached by the real python-telegram-bot through `base_url`."""

from .app import FAULTS, STATE, WEBHOOK, TelegramConfig, create_app
from .state import BOT_USERNAME
from .webhook import SECRET_HEADER

__all__ = [
    "BOT_USERNAME",
    "FAULTS",
    "SECRET_HEADER",
    "STATE",
    "WEBHOOK",
    "TelegramConfig",
    "create_app",
]
