"""Reachability checks of Telegram for /readyz and `make check-deployment`."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from telegram import Bot
from telegram.error import TelegramError

from bridge.observability.probes import ProbeFailed, within

T = TypeVar("T")


async def telegram_bot(bot: Bot) -> str:
    me = await _telegram(bot.get_me(), "getMe")
    return f"token valid: @{me.username}"


async def telegram_webhook(bot: Bot, expected_url: str) -> str:
    info = await _telegram(bot.get_webhook_info(), "getWebhookInfo")
    if info.url != expected_url:
        raise ProbeFailed(
            f"webhook is {info.url or 'not set'!r}, expected {expected_url!r}: start the bridge "
            "with TELEGRAM_SET_WEBHOOK=true or run `python -m bridge.deploy_check "
            "--set-telegram-webhook`"
        )
    if info.last_error_message:
        return f"webhook set to {info.url} (last delivery error: {info.last_error_message})"
    return f"webhook set to {info.url}"


async def telegram_polling(bot: Bot) -> str:
    """TELEGRAM_UPDATES=polling: Telegram serves getUpdates only while no webhook is set."""
    info = await _telegram(bot.get_webhook_info(), "getWebhookInfo")
    if info.url:
        raise ProbeFailed(
            f"a webhook is set ({info.url}), so Telegram refuses getUpdates: the bridge deletes "
            "it when it starts polling; if it is set again, another deployment uses this bot "
            "token (give each deployment its own bot)"
        )
    return f"no webhook: the bridge polls getUpdates ({info.pending_update_count} waiting)"


async def _telegram(call: Awaitable[T], method: str) -> T:
    try:
        return await within(call, f"Telegram {method}")
    except TelegramError as exc:
        raise ProbeFailed(f"Telegram {method} failed: {exc.message}") from None
