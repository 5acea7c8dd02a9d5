"""Sends the customer jobs of Telegram conversations: messages, and revisions of staff
messages the customer already has. Dispatches on the job's type."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bridge.models import Button, Role
from bridge.outbox.delivery import Delivered, Delivery, Joined, RetryLater, Undeliverable
from bridge.outbox.jobs import Job, ReviseSent, SendToCustomer
from bridge.platforms.telegram.chats import chat_id
from bridge.rate_limits import PlatformLimiter
from bridge.store.stores import Store
from bridge.store.threads import Threads
from bridge.text_parts import split_posts
from bridge.texts import customers as texts

TELEGRAM_TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
T = TypeVar("T")


class TelegramSender:
    def __init__(self, bot: Bot, store: Store, limiter: PlatformLimiter | None = None) -> None:
        self._bot = bot
        self._store = store
        self._limiter = limiter

    async def __call__(self, job: Job | Joined, delivery: Delivery) -> Delivered | None:
        match job:
            case SendToCustomer():
                return await self._send_message(job)
            case ReviseSent():
                await self._revise(job)
                return None
        raise Undeliverable(f"not a Telegram job: {job!r}")

    async def _send_message(self, job: SendToCustomer) -> Delivered | None:
        chat = chat_id(job.conversation)
        message = job.message
        text = message.text
        if message.role is Role.STAFF and message.author:
            text = f"{message.author}: {text}"
        markup = _keyboard(message.buttons)
        sent_ids = []
        if message.file_id:
            # A caption holds 1,024 characters; longer text goes first as its own message(s).
            caption = text if len(text) <= CAPTION_LIMIT else ""
            if not caption and text:
                for part in split_posts([text], TELEGRAM_TEXT_LIMIT):
                    sent_ids.append(await self._send(chat, part, None))
            sent_ids.append(await self._send_file(chat, message.file_id, caption, markup))
        else:
            parts = split_posts([text], TELEGRAM_TEXT_LIMIT)
            for index, part in enumerate(parts):
                last = index == len(parts) - 1
                sent_ids.append(await self._send(chat, part, markup if last else None))
        if job.staff_message is None:
            return None
        # Telegram accepted a staff reply: remember its ids (an edit needs them), in the step
        # that acknowledges it and queues its receipt (bridge/outbox/receipts.py).
        return Delivered(
            steps=(Threads.sent_ids_step(job.staff_message, job.conversation, sent_ids),)
        )

    async def _pace(self, chat: int) -> None:
        """Wait for the chat's and the bot's next send slot (shared by every replica)."""
        if self._limiter is not None:
            await self._limiter.telegram_send(str(chat))

    async def _send(self, chat: int, text: str, markup: InlineKeyboardMarkup | None) -> int:
        await self._pace(chat)
        sent = await _call(self._bot.send_message(chat_id=chat, text=text, reply_markup=markup))
        return int(sent.message_id)

    async def _send_file(
        self, chat: int, file_id: str, caption: str, markup: InlineKeyboardMarkup | None
    ) -> int:
        attachment = await self._store.files.get(file_id)
        if attachment is None:
            raise Undeliverable("the attached file has expired")
        upload = InputFile(attachment.data, filename=attachment.name)
        await self._pace(chat)
        if attachment.type.startswith("image/"):
            request = self._bot.send_photo(
                chat_id=chat, photo=upload, caption=caption or None, reply_markup=markup
            )
        else:
            request = self._bot.send_document(
                chat_id=chat, document=upload, caption=caption or None, reply_markup=markup
            )
        sent = await _call(request)
        return int(sent.message_id)

    async def _revise(self, job: ReviseSent) -> None:
        """Edit or withdraw a staff message the customer already has; correct it otherwise."""
        chat = chat_id(job.conversation)
        relay = await self._store.threads.relay(job.staff_message, job.conversation)
        ids = relay.platform_ids if relay is not None else ()
        if not ids:
            return  # the original never reached the customer: nothing to correct
        author = job.author
        if job.text is not None:
            if len(ids) == 1:
                try:
                    edit = self._bot.edit_message_text(
                        chat_id=chat, message_id=ids[0], text=f"{author}: {job.text}"
                    )
                    await _call(edit)
                    return
                except Undeliverable as exc:
                    if "not modified" in str(exc):
                        return
            # Split across messages, or too old to edit: say what changed instead.
            await self._send(chat, texts.correction(author, job.text), None)
            return
        withdrawn = True
        for message_id in ids:
            try:
                await _call(self._bot.delete_message(chat_id=chat, message_id=message_id))
            except Undeliverable:
                withdrawn = False  # Telegram only deletes messages younger than 48 hours
        if not withdrawn:
            await self._send(chat, texts.withdrawn(author), None)


def _keyboard(buttons: tuple[Button, ...]) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.title, callback_data=callback_data(b.payload))] for b in buttons]
    )


def callback_data(payload: str) -> str:
    """At most the 64 bytes Telegram takes (BUTTON_DATA_INVALID beyond), whole characters."""
    return payload.encode()[:64].decode(errors="ignore")


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
