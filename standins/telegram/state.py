"""The bot, its private chats with customers, sent messages, files and pending updates."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]

BOT_USERNAME = "northwind_support_bot"
BOT_FIRST_NAME = "Northwind Support"
DEFAULT_BOT_ID = 7000000001


class TelegramError(Exception):
    """An API error answered as {"ok": false, "error_code": code, "description": ...}."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after


def bad_request(what: str) -> TelegramError:
    return TelegramError(400, f"Bad Request: {what}")


def bot_user(token: str) -> JSON:
    # Telegram bot ids are the token's numeric prefix; keep that so ptb's Bot.id agrees.
    prefix = token.split(":", 1)[0]
    return {
        "id": int(prefix) if prefix.isdigit() else DEFAULT_BOT_ID,
        "is_bot": True,
        "first_name": BOT_FIRST_NAME,
        "username": BOT_USERNAME,
    }


@dataclass
class Chat:
    id: int
    first_name: str
    username: str | None = None
    last_name: str | None = None
    blocked: bool = False
    next_message_id: int = 1
    # What the customer sent, as they now see it (edits applied), by message id.
    written: dict[int, JSON] = field(default_factory=dict)

    def user_json(self) -> JSON:
        user: JSON = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            user["last_name"] = self.last_name
        if self.username:
            user["username"] = self.username
        user["language_code"] = "en"
        return user

    def chat_json(self) -> JSON:
        chat: JSON = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            chat["last_name"] = self.last_name
        if self.username:
            chat["username"] = self.username
        return chat

    def message_id(self) -> int:
        # In a private chat both sides share one message id sequence.
        self.next_message_id += 1
        return self.next_message_id - 1


@dataclass
class Sent:
    """One message the bot sent, as the customer would now see it."""

    method: str
    message: JSON  # the Message object returned to the bot, kept current on edits
    parse_mode: str | None = None
    raw_text: str | None = None  # text or caption as the bot sent it, markup included
    edits: int = 0
    deleted: bool = False

    def to_json(self) -> JSON:
        msg = self.message
        return {
            "message_id": msg["message_id"],
            "method": self.method,
            "date": msg["date"],
            "text": msg.get("text") or msg.get("caption") or "",
            "raw_text": self.raw_text,
            "parse_mode": self.parse_mode,
            "reply_markup": msg.get("reply_markup"),
            "photo": msg.get("photo"),
            "document": msg.get("document"),
            "edits": self.edits,
            "edited": self.edits > 0,
            "deleted": self.deleted,
        }


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    path: str
    data: bytes
    mime_type: str

    def to_json(self) -> JSON:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
            "file_path": self.path,
        }


@dataclass
class UpdateRecord:
    update_id: int
    kind: str  # message | edited_message | callback_query | my_chat_member
    chat_id: int
    payload: JSON
    status: str = "pending"  # pending | delivered | dropped | filtered
    attempts: int = 0
    last_error: str | None = None
    callback_answer: JSON | None = None

    def to_json(self) -> JSON:
        return {
            "update_id": self.update_id,
            "kind": self.kind,
            "chat_id": self.chat_id,
            "status": self.status,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "callback_answer": self.callback_answer,
        }


@dataclass
class BotState:
    chats: dict[int, Chat] = field(default_factory=dict)
    sent: dict[int, list[Sent]] = field(default_factory=dict)
    files: dict[str, StoredFile] = field(default_factory=dict)
    updates: list[UpdateRecord] = field(default_factory=list)
    callbacks: dict[str, UpdateRecord] = field(default_factory=dict)
    commands: list[JSON] = field(default_factory=list)
    # The bot as last seen through its token; customer updates name it (my_chat_member).
    bot: JSON = field(default_factory=lambda: bot_user(""))
    # A random start keeps update ids fresh across stand-in restarts, so a bridge that
    # de-duplicates on update_id never drops a new update as a repeat.
    next_update_id: int = field(default_factory=lambda: 100_000_000 + secrets.randbelow(10**8))

    def chat(self, chat_id: Any) -> Chat:
        try:
            chat = self.chats.get(int(chat_id))
        except (TypeError, ValueError):
            chat = None
        if chat is None:
            raise bad_request("chat not found")
        return chat

    def customer(self, chat_id: int, first_name: str | None, username: str | None) -> Chat:
        chat = self.chats.get(chat_id)
        if chat is None:
            chat = self.chats[chat_id] = Chat(chat_id, first_name or f"Customer {chat_id}")
        if first_name:
            chat.first_name = first_name
        if username:
            chat.username = username
        return chat

    def sent_message(self, chat: Chat, message_id: Any, what: str) -> Sent:
        for sent in self.sent.get(chat.id, []):
            if str(sent.message["message_id"]) == str(message_id) and not sent.deleted:
                return sent
        raise bad_request(f"message to {what} not found")

    def add_update(self, kind: str, chat_id: int, body: JSON) -> UpdateRecord:
        update_id = self.next_update_id
        self.next_update_id += 1
        record = UpdateRecord(update_id, kind, chat_id, {"update_id": update_id, kind: body})
        self.updates.append(record)
        return record

    def add_file(self, data: bytes, folder: str, suffix: str, mime_type: str) -> StoredFile:
        n = len(self.files) + 1
        file_id = f"AgAC{secrets.token_urlsafe(24)}"
        stored = StoredFile(file_id, f"AQAD{n:06d}", f"{folder}/file_{n}{suffix}", data, mime_type)
        self.files[file_id] = stored
        return stored


def now() -> int:
    return int(time.time())
