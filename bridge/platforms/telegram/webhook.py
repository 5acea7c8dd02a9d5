"""Telegram webhook: verifies the secret, turns updates into customer messages for the router.

The webhook and the poller (polling.py, when the bridge has no public address) hand each update
to `handle_update`, so an update means the same whichever way it came. Both confirm an update
to Telegram only once it was handled, so one that was not is delivered again, and the router
recognises a redelivered one by its update_id: it is recorded and answered once.

A customer's edit (an `edited_message` update) is a new customer line that says it is an edit,
recorded once per update like any message: staff see it in the thread, or the assistant answers
it. Telegram sends no update when a message is deleted, so there is nothing to withdraw."""

from __future__ import annotations

import enum
import hmac
import logging
from dataclasses import replace

from aiohttp import web
from telegram import Bot, Update

from bridge import keys
from bridge.models import Attachment, Channel, Conversation, Message, Role
from bridge.platforms.telegram.chats import conversation_id
from bridge.ports import CustomerDoor, IdentityDoor
from bridge.rate_limits import CustomerQuota

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
GREETING = "/greet"  # the assistant's greeting intent
WEBHOOK_PATH = "/telegram/webhook"


# Telegram's own commands: /start (with the link code of `t.me/<bot>?start=<code>`, or none),
# and ours to undo a link.
START, UNLINK = "/start", "/unlink"
# What an edited message's line starts with (like the 📎/📷 labels of files).
EDITED = "✏️ (edited)"
# The updates the bridge reads; the webhook is registered for these (bridge/app.py), and the
# poller asks for them.
ALLOWED_UPDATES = ("message", "edited_message", "callback_query")


class Outcome(enum.Enum):
    """What became of an update. All but NOT_AN_UPDATE are done with: Telegram may forget them."""

    HANDLED = "handled"
    IGNORED = "ignored"  # not something a customer said (a member update, a sticker)
    RATE_LIMITED = "rate_limited"  # over the customer's quota: not passed on
    NOT_AN_UPDATE = "not_an_update"  # malformed; nothing was done with it


class TelegramWebhook:
    def __init__(self, door: CustomerDoor, identities: IdentityDoor, bot: Bot, secret: str) -> None:
        self._door = door
        self._identities = identities
        self._bot = bot
        self._secret = secret

    async def handle(self, request: web.Request) -> web.Response:
        secret = self._secret
        if not secret or not hmac.compare_digest(
            request.headers.get(SECRET_HEADER, "").encode(), secret.encode()
        ):
            return web.json_response({"ok": False, "error": "bad secret token"}, status=403)
        try:
            data = await request.json()
            if not isinstance(data, dict):
                raise ValueError("the body must be a JSON object")
            update = Update.de_json(data, self._bot)
        except web.HTTPRequestEntityTooLarge as exc:  # no update Telegram sends is this large
            return web.json_response(
                {"ok": False, "error": f"the update is too large: {exc.text}"}, status=413
            )
        except Exception as exc:  # anything ptb cannot read (wrong types, absurd values)
            return web.json_response(
                {"ok": False, "error": f"not a Telegram update: {exc}"}, status=400
            )
        if update is None:
            return web.json_response({"ok": False, "error": "not a Telegram update"}, status=400)
        # An exception here answers 500, so Telegram delivers the update again.
        outcome = await self.handle_update(update)
        if outcome is Outcome.NOT_AN_UPDATE:
            return web.json_response({"ok": False, "error": "not a Telegram update"}, status=400)
        if outcome is Outcome.IGNORED:
            return web.json_response({"ok": True, "ignored": True})
        if outcome is Outcome.RATE_LIMITED:
            return web.json_response({"ok": True, "rate_limited": True})
        return web.json_response({"ok": True})

    async def handle_update(self, update: Update) -> Outcome:
        """Record the customer's line and let the assistant answer it, or run their command;
        returns once that is done (an exception means it was not: deliver the update again)."""
        try:
            incoming = _customer_message(update)
        except (AttributeError, TypeError):  # ptb does not check types: a chat of null, say
            incoming = None
        if incoming is not None and (
            type(incoming[0]) is not int or not isinstance(incoming[2], str)
        ):
            return Outcome.NOT_AN_UPDATE
        if incoming is None:
            return Outcome.IGNORED
        return await self._customer_line(update, *incoming)

    async def _customer_line(
        self, update: Update, chat: int, name: str, text: str, payload: str
    ) -> Outcome:
        edited = update.edited_message is not None
        door = self._door
        conversation = await door.ensure(conversation_id(chat), Channel.TELEGRAM, str(chat), name)
        if not await door.within_quota(conversation):
            # Over the customer's quota: not passed on; they are told once per window.
            await door.slow_down(conversation, CustomerQuota.window())
            return Outcome.RATE_LIMITED
        command, _, argument = text.strip().partition(" ")
        if not payload and not edited and command in (START, UNLINK):
            return await self._command(update, conversation, command, argument.strip())
        # Fetched before the update is acknowledged: if Telegram's file server fails, the update
        # is redelivered rather than the photo lost.
        attachment = await _attachment(self._bot, update)
        inbound = await door.accept(
            conversation,
            Message(role=Role.CUSTOMER, text=text, edited=edited),
            str(update.update_id),
            attachment=attachment,
            payload=payload,
        )
        if update.callback_query is not None:
            await _answer_tap(self._bot, update.callback_query.id)
        # Answering only after the turn means Telegram redelivers the update if we die mid-turn;
        # the router recognises the redelivery and does not answer twice.
        await door.respond(conversation, inbound)
        return Outcome.HANDLED

    async def _command(
        self, update: Update, conversation: Conversation, command: str, argument: str
    ) -> Outcome:
        """/start <code> links the chat (the code never enters the transcript), a bare /start
        greets, /unlink signs the chat out."""
        message = Message(role=Role.CUSTOMER, text=command)
        inbound = await self._door.accept(conversation, message, str(update.update_id))
        if inbound.is_new and command == UNLINK:
            await self._identities.unlink_chat(conversation)
        elif inbound.is_new and argument:
            await self._identities.link_chat(conversation, argument)
        elif command == START and not argument:
            # Telegram's "hello": the assistant greets (a redelivery is answered once).
            await self._door.respond(conversation, replace(inbound, payload=GREETING))
        return Outcome.HANDLED


def add_routes(app: web.Application, key: web.AppKey[TelegramWebhook]) -> None:
    """The webhook; the adapter itself is built at start-up and found under `key`."""

    async def handle(request: web.Request) -> web.Response:
        return await request.app[key].handle(request)

    app.router.add_post(WEBHOOK_PATH, handle)


def _customer_message(update: Update) -> tuple[int, str, str, str] | None:
    """(chat id, display name, text to record, payload for the assistant) or None."""
    message = update.message or update.edited_message
    if message is not None and (message.text or message.photo or message.document):
        user = message.from_user
        name = user.full_name if user else ""
        if message.text:
            text = message.text
        else:
            document = message.document
            label = f"📎 {document.file_name or 'File'}" if document else "📷 Photo"
            text = f"{label}: {message.caption}" if message.caption else label
        if update.edited_message is not None:
            if not isinstance(text, str) or text.lstrip().startswith("/"):
                return None  # an edited command is not run again (nor its link code kept)
            text = f"{EDITED} {text}"
        return message.chat.id, name, text, ""
    query = update.callback_query
    if query is not None and query.data and query.message is not None:
        # An inaccessible (old) message has no keyboard; the raw data is shown instead.
        title = _button_title(getattr(query.message, "reply_markup", None), query.data)
        payload = query.data if query.data.startswith("/") else ""
        return query.message.chat.id, query.from_user.full_name, title or query.data, payload
    return None


async def _attachment(bot: Bot, update: Update) -> Attachment | None:
    message = update.message
    if message is None or not (message.photo or message.document):
        return None
    if message.document is not None:
        file_id, size = message.document.file_id, message.document.file_size
        name = message.document.file_name or "file"
        kind = message.document.mime_type or "application/octet-stream"
    else:
        largest = message.photo[-1]
        file_id, size, name, kind = largest.file_id, largest.file_size, "photo.jpg", "image/jpeg"
    if (size or 0) > keys.ATTACHMENT_MAX_BYTES:
        log.warning("file of %s bytes not fetched: over the limit", size)
        return None
    file = await bot.get_file(file_id)
    return Attachment(bytes(await file.download_as_bytearray()), name, kind)


def _button_title(markup: object, data: str) -> str | None:
    for row in getattr(markup, "inline_keyboard", None) or ():
        for button in row:
            if button.callback_data == data:
                return str(button.text)
    return None


async def _answer_tap(bot: Bot, query_id: str) -> None:
    try:
        await bot.answer_callback_query(query_id)
    except Exception as exc:  # only stops the button's spinner; the message itself is recorded
        log.warning("could not answer callback query: %s", exc)
