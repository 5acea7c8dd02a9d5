"""Sends queued customer messages to Telegram chats."""

from __future__ import annotations

import json
from collections.abc import Awaitable
from typing import TypeVar

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bridge import slack_format, texts
from bridge.models import Role
from bridge.rate_limits import PlatformLimiter
from bridge.senders.stream import RetryLater, Undeliverable, after_delivery, delivered_entries
from bridge.slack_format import split_posts
from bridge.store import ConversationStore
from bridge.texts import DELIVERED, not_delivered

TELEGRAM_TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
T = TypeVar("T")


class TelegramSender:
    def __init__(
        self, bot: Bot, store: ConversationStore, limiter: PlatformLimiter | None = None
    ) -> None:
        self._bot = bot
        self._store = store
        self._limiter = limiter

    async def _pace(self, chat_id: int) -> None:
        """Wait for the chat's and the bot's next send slot (shared by every replica)."""
        if self._limiter is not None:
            await self._limiter.telegram_send(str(chat_id))

    async def __call__(self, job: dict[str, str]) -> None:
        if job.get("kind") in ("edit", "delete"):
            await self._revise(job)
            return
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
        sent_ids = []
        if job.get("file"):
            # A caption holds 1,024 characters; longer text goes first as its own message(s).
            caption = text if len(text) <= CAPTION_LIMIT else ""
            if not caption and text:
                for part in split_posts([text], TELEGRAM_TEXT_LIMIT):
                    sent_ids.append(await self._send(chat_id, part, None))
            sent_ids.append(await self._send_file(chat_id, job["file"], caption, markup))
        else:
            parts = split_posts([text], TELEGRAM_TEXT_LIMIT)
            for index, part in enumerate(parts):
                last = index == len(parts) - 1
                sent_ids.append(await self._send(chat_id, part, markup if last else None))
        if job.get("slack_ts"):
            # Telegram accepted it: the staff member sees a receipt on their Slack message,
            # queued together with the entry's acknowledgement (the sender's own XACK after
            # this is then a no-op).
            entries = delivered_entries(job)
            receipt = {
                "kind": "react",
                "conversation": job["conversation"],
                "channel": job["slack_channel"],
                "ts": job["slack_ts"],
                "name": DELIVERED,
            }
            await after_delivery(
                lambda: self._store.delivered(
                    job["slack_channel"], job["slack_ts"], sent_ids, receipt, entries
                ),
                "the Slack receipt",
            )

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
        await self._pace(chat_id)
        sent = await _call(self._bot.send_message(chat_id=chat_id, text=text, reply_markup=markup))
        return int(sent.message_id)

    async def _send_file(
        self, chat_id: int, file_id: str, caption: str, markup: InlineKeyboardMarkup | None
    ) -> int:
        attachment = await self._store.get_file(file_id)
        if attachment is None:
            raise Undeliverable("the attached file has expired")
        upload = InputFile(attachment.data, filename=attachment.name)
        await self._pace(chat_id)
        if attachment.type.startswith("image/"):
            request = self._bot.send_photo(
                chat_id=chat_id, photo=upload, caption=caption or None, reply_markup=markup
            )
        else:
            request = self._bot.send_document(
                chat_id=chat_id, document=upload, caption=caption or None, reply_markup=markup
            )
        sent = await _call(request)
        return int(sent.message_id)

    async def _revise(self, job: dict[str, str]) -> None:
        """Edit or withdraw a staff message the customer already has; correct it otherwise."""
        chat_id = int(job["conversation"].removeprefix("tg-"))
        relay = await self._store.relay(job["slack_channel"], job["slack_ts"])
        ids = [int(i) for i in relay.get("telegram_ids", "").split(",") if i]
        if not ids:
            return  # the original never reached the customer: nothing to correct
        author = job.get("author", "")
        if job["kind"] == "edit":
            if len(ids) == 1:
                try:
                    edit = self._bot.edit_message_text(
                        chat_id=chat_id, message_id=ids[0], text=f"{author}: {job['text']}"
                    )
                    await _call(edit)
                    return
                except Undeliverable as exc:
                    if "not modified" in str(exc):
                        return
            # Split across messages, or too old to edit: say what changed instead.
            await self._send(chat_id, texts.correction(author, job["text"]), None)
            return
        withdrawn = True
        for message_id in ids:
            try:
                await _call(self._bot.delete_message(chat_id=chat_id, message_id=message_id))
            except Undeliverable:
                withdrawn = False  # Telegram only deletes messages younger than 48 hours
        if not withdrawn:
            await self._send(chat_id, texts.withdrawn(author), None)


async def _call(request: Awaitable[T]) -> T:
    """A Bot API call, its failures sorted into retry-later and never."""
    try:
        return await request
    except RetryAfter as exc:
        retry_after = exc.retry_after
        seconds = (
            retry_after.total_seconds() if hasattr(retry_after, "total_seconds") else retry_after
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
