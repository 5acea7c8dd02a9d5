"""Sends queued customer messages to Telegram chats."""

from __future__ import annotations

import json

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bridge.models import Role
from bridge.senders.stream import RetryLater, Undeliverable
from bridge.slack_format import split_posts

TELEGRAM_TEXT_LIMIT = 4096


class TelegramSender:
    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def __call__(self, job: dict[str, str]) -> None:
        chat_id = int(job["conversation"].removeprefix("tg-"))
        text = job["text"]
        if job.get("role") == Role.STAFF and job.get("author"):
            text = f"{job['author']}: {text}"
        buttons = json.loads(job.get("buttons", "[]"))
        markup = (
            InlineKeyboardMarkup(
                [
                    [InlineKeyboardButton(b["title"], callback_data=b["payload"][:64])]
                    for b in buttons
                ]
            )
            if buttons
            else None
        )
        parts = split_posts([text], TELEGRAM_TEXT_LIMIT)
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            await self._send(chat_id, part, markup if last else None)

    async def _send(self, chat_id: int, text: str, markup: InlineKeyboardMarkup | None) -> None:
        try:
            await self._bot.send_message(chat_id=chat_id, text=text, reply_markup=markup)
        except RetryAfter as exc:
            retry_after = exc.retry_after
            seconds = (
                retry_after.total_seconds()
                if hasattr(retry_after, "total_seconds")
                else retry_after
            )
            raise RetryLater("Telegram rate limit", float(seconds)) from exc
        except (Forbidden, BadRequest) as exc:
            raise Undeliverable(f"Telegram refused: {exc.message}") from exc
        except NetworkError as exc:  # includes TimedOut
            raise RetryLater(f"Telegram unreachable: {exc.message}") from exc
        except TelegramError as exc:
            raise RetryLater(f"Telegram error: {exc.message}") from exc
