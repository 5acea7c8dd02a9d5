"""Sends queued customer messages to Telegram chats."""

from __future__ import annotations

import json

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bridge import slack_format
from bridge.models import Role
from bridge.senders.stream import RetryLater, Undeliverable
from bridge.slack_format import split_posts
from bridge.store import ConversationStore
from bridge.texts import DELIVERED, not_delivered

TELEGRAM_TEXT_LIMIT = 4096


class TelegramSender:
    def __init__(self, bot: Bot, store: ConversationStore) -> None:
        self._bot = bot
        self._store = store

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
        sent_ids = []
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            sent_ids.append(await self._send(chat_id, part, markup if last else None))
        if job.get("slack_ts"):
            # Telegram accepted it: the staff member sees a receipt on their Slack message.
            receipt = {
                "kind": "react",
                "conversation": job["conversation"],
                "channel": job["slack_channel"],
                "ts": job["slack_ts"],
                "name": DELIVERED,
            }
            await self._store.delivered(job["slack_channel"], job["slack_ts"], sent_ids, receipt)

    async def undeliverable(self, job: dict[str, str], reason: str) -> None:
        """A staff message that will never arrive: say so in its thread, with the reason."""
        if not job.get("slack_ts"):
            return
        await self._store.queue_slack(
            {
                "kind": "thread_post",
                "conversation": job["conversation"],
                "as": "raw",
                "text": not_delivered(slack_format.escape(reason)),
                "thread_ts": job.get("slack_thread", ""),
            }
        )

    async def _send(self, chat_id: int, text: str, markup: InlineKeyboardMarkup | None) -> int:
        try:
            sent = await self._bot.send_message(chat_id=chat_id, text=text, reply_markup=markup)
            return sent.message_id
        except RetryAfter as exc:
            retry_after = exc.retry_after
            seconds = (
                retry_after.total_seconds()
                if hasattr(retry_after, "total_seconds")
                else retry_after
            )
            raise RetryLater("Telegram rate limit", float(seconds)) from exc
        except Forbidden as exc:
            raise Undeliverable(
                f"Telegram refused it ({exc.message}): the customer blocked or left our bot"
            ) from exc
        except BadRequest as exc:
            raise Undeliverable(f"Telegram refused it: {exc.message}") from exc
        except NetworkError as exc:  # includes TimedOut
            raise RetryLater(f"Telegram unreachable: {exc.message}") from exc
        except TelegramError as exc:
            raise RetryLater(f"Telegram error: {exc.message}") from exc
