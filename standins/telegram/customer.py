"""Test endpoints that play the customer: each builds the Update Telegram would send."""

from __future__ import annotations

import base64
import binascii
import copy
import secrets
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .api import photo_size
from .state import BotState, Chat, TelegramError, UpdateRecord, now
from .webhook import Webhook

JSON = dict[str, Any]


def _bad(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _set_text(msg: JSON, text: str) -> None:
    msg["text"] = text
    msg.pop("entities", None)
    if text.startswith("/"):
        # ptb's CommandHandler needs the entity Telegram adds to commands.
        command = text.split()[0]
        msg["entities"] = [{"type": "bot_command", "offset": 0, "length": _utf16_len(command)}]


@dataclass
class Customer:
    state: BotState
    webhook: Webhook

    def _queue(self, kind: str, chat: Chat, body: JSON) -> UpdateRecord:
        if kind in ("message", "edited_message"):
            # Kept apart from the update, which must go out as it was when it was sent.
            chat.written[body["message_id"]] = copy.deepcopy(body)
        record = self.state.add_update(kind, chat.id, body)
        self.webhook.notify()
        return record

    def _member(self, chat: Chat, old: str, new: str) -> UpdateRecord:
        def member(status: str) -> JSON:
            m: JSON = {"user": self.state.bot, "status": status}
            if status == "kicked":
                m["until_date"] = 0
            return m

        return self._queue(
            "my_chat_member",
            chat,
            {
                "chat": chat.chat_json(),
                "from": chat.user_json(),
                "date": now(),
                "old_chat_member": member(old),
                "new_chat_member": member(new),
            },
        )

    async def _chat(self, request: web.Request) -> tuple[JSON, Chat]:
        body = await request.json()
        if not isinstance(body.get("chat_id"), int):
            raise TelegramError(400, 'expected an integer "chat_id"')
        chat = self.state.customer(body["chat_id"], body.get("first_name"), body.get("username"))
        if chat.blocked:
            # Writing again means the customer unblocked the bot (Telegram's "Restart").
            chat.blocked = False
            self._member(chat, "kicked", "member")
        return body, chat

    def _message(self, chat: Chat) -> JSON:
        return {
            "message_id": chat.message_id(),
            "from": chat.user_json(),
            "chat": chat.chat_json(),
            "date": now(),
        }

    async def message(self, request: web.Request) -> web.Response:
        """`{"chat_id": int, "text": str, "first_name"?, "username"?}`
        → `{"update_id", "message_id"}`"""
        try:
            body, chat = await self._chat(request)
        except TelegramError as exc:
            return _bad(exc.description)
        text = body.get("text")
        if not isinstance(text, str) or not text:
            return _bad('expected a non-empty "text"')
        msg = self._message(chat)
        _set_text(msg, text)
        record = self._queue("message", chat, msg)
        return web.json_response({"update_id": record.update_id, "message_id": msg["message_id"]})

    async def edit(self, request: web.Request) -> web.Response:
        """`{"chat_id", "message_id", "text"}` → `{"update_id"}`: the customer edits a message
        they sent (a text, or a photo's or file's caption), and Telegram sends the bot an
        `edited_message` update with the message as it now reads."""
        try:
            body, chat = await self._chat(request)
        except TelegramError as exc:
            return _bad(exc.description)
        message_id, text = body.get("message_id"), body.get("text")
        found = chat.written.get(message_id) if isinstance(message_id, int) else None
        if found is None:
            return _bad("message to edit not found")  # only one's own messages can be edited
        if not isinstance(text, str) or not text:
            return _bad('expected a non-empty "text"')
        if found.get("text" if "text" in found else "caption") == text:
            return _bad("message is not modified")  # the app sends nothing either
        edited = copy.deepcopy(found)
        if "text" in edited:
            _set_text(edited, text)
        else:
            edited["caption"] = text
        edited["edit_date"] = now()
        record = self._queue("edited_message", chat, edited)
        return web.json_response({"update_id": record.update_id, "message_id": message_id})

    async def photo(self, request: web.Request) -> web.Response:
        """`{"chat_id", "image_base64", "caption"?}` → `{"update_id", "message_id", "file_id"}`"""
        try:
            body, chat = await self._chat(request)
            data = base64.b64decode(str(body.get("image_base64", "")), validate=True)
        except TelegramError as exc:
            return _bad(exc.description)
        except binascii.Error:
            return _bad('"image_base64" is not base64')
        if not data:
            return _bad('expected "image_base64"')
        stored = self.state.add_file(data, "photos", ".jpg", "image/jpeg")
        msg = self._message(chat)
        msg["photo"] = [photo_size(stored)]
        if body.get("caption"):
            msg["caption"] = str(body["caption"])
        record = self._queue("message", chat, msg)
        return web.json_response(
            {
                "update_id": record.update_id,
                "message_id": msg["message_id"],
                "file_id": stored.file_id,
            }
        )

    async def tap(self, request: web.Request) -> web.Response:
        """`{"chat_id", "message_id", "data"}` → `{"update_id", "callback_query_id"}`.

        Only a button that is on the message now can be tapped, as in the app."""
        try:
            body, chat = await self._chat(request)
            sent = self.state.sent_message(chat, body.get("message_id"), "tap")
        except TelegramError as exc:
            return _bad(exc.description)
        data = body.get("data")
        buttons = sent.message.get("reply_markup", {}).get("inline_keyboard", [])
        if not any(b.get("callback_data") == data for row in buttons for b in row):
            return _bad(f"message {sent.message['message_id']} has no button with data {data!r}")
        query_id = str(secrets.randbelow(10**18))
        record = self._queue(
            "callback_query",
            chat,
            {
                "id": query_id,
                "from": chat.user_json(),
                "message": sent.message,
                "chat_instance": str(-chat.id * 7919),
                "data": data,
            },
        )
        self.state.callbacks[query_id] = record
        return web.json_response({"update_id": record.update_id, "callback_query_id": query_id})

    async def block(self, request: web.Request) -> web.Response:
        """`{"chat_id"}` → `{"update_id"}` of the my_chat_member update Telegram sends."""
        try:
            _body, chat = await self._chat(request)
        except TelegramError as exc:
            return _bad(exc.description)
        chat.blocked = True
        return web.json_response({"update_id": self._member(chat, "member", "kicked").update_id})

    async def sent(self, request: web.Request) -> web.Response:
        """`GET /_test/sent?chat_id=X` → what the bot sent there, oldest first."""
        try:
            chat_id = int(request.query["chat_id"])
        except (KeyError, ValueError):
            return _bad("expected ?chat_id=<int>")
        return web.json_response([s.to_json() for s in self.state.sent.get(chat_id, [])])

    async def updates(self, _request: web.Request) -> web.Response:
        return web.json_response([u.to_json() for u in self.state.updates])
