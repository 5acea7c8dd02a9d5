"""Bot API methods at /bot<token>/<method>: the subset the bridge uses, in Telegram's shapes,
with its parameters checked as Telegram checks them (validation.py): any other method is 404."""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .._common import Faults, Interval, Window, json_field, read_params
from . import validation
from .state import (
    BotState,
    Chat,
    Sent,
    StoredFile,
    TelegramError,
    bad_request,
    bot_user,
    now,
)
from .webhook import Webhook

JSON = dict[str, Any]
SEND_METHODS = {"sendmessage", "sendphoto", "senddocument"}


@dataclass
class Call:
    token: str
    params: JSON
    files: dict[str, web.FileField]
    state: BotState
    webhook: Webhook

    def get(self, name: str) -> Any:
        return self.params.get(name)

    def text(self, name: str) -> str | None:
        value = self.params.get(name)
        return None if value is None else str(value)

    def flag(self, name: str) -> bool:
        return str(self.params.get(name, "")).lower() in ("1", "true")

    def chat(self) -> Chat:
        """The chat named by chat_id: one of a customer who wrote to the bot (Telegram knows
        no other private chats of a bot)."""
        validation.chat_id(self.params.get("chat_id"))
        return self.state.chat(self.params.get("chat_id"))

    def reachable_chat(self) -> Chat:
        chat = self.chat()
        if chat.blocked:
            raise TelegramError(403, "Forbidden: bot was blocked by the user")
        return chat

    def reply_markup(self) -> JSON | None:
        return validation.reply_markup(self.params.get("reply_markup"))

    def has_upload(self, name: str) -> bool:
        ref = self.text(name) or ""
        return bool(ref) or name in self.files

    def upload(self, name: str, folder: str, suffix: str, mime: str) -> StoredFile:
        """The file sent as `name`: a multipart upload (direct or attach://) or a file_id."""
        ref = self.text(name) or ""
        field = self.files.get(ref.removeprefix("attach://") if ref else name)
        if field is not None:
            data = field.file.read()
            if not data:
                raise bad_request("file must be non-empty")
            suffix = "." + field.filename.rsplit(".", 1)[-1] if "." in field.filename else suffix
            return self.state.add_file(data, folder, suffix, field.content_type or mime)
        if ref in self.state.files:
            return self.state.files[ref]
        raise bad_request("wrong file identifier/HTTP URL specified")


def _message(call: Call, chat: Chat) -> JSON:
    return {
        "message_id": chat.message_id(),
        "from": bot_user(call.token),
        "chat": chat.chat_json(),
        "date": now(),
    }


def _record(call: Call, chat: Chat, method: str, msg: JSON, raw: str | None) -> JSON:
    sent = Sent(method, msg, call.text("parse_mode"), raw)
    call.state.sent.setdefault(chat.id, []).append(sent)
    return msg


def get_me(call: Call) -> Any:
    return {
        **bot_user(call.token),
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


def set_webhook(call: Call) -> Any:
    url = call.text("url") or ""  # an empty one deletes the webhook, as deleteWebhook does
    secret = call.text("secret_token") or ""
    if url:
        validation.webhook_url(url)
        validation.secret_token(secret)
    call.webhook.configure(
        url or None,
        secret if url else None,
        validation.allowed_updates(call.get("allowed_updates")),
        call.flag("drop_pending_updates"),
    )
    return True


def delete_webhook(call: Call) -> Any:
    call.webhook.configure(None, None, None, call.flag("drop_pending_updates"))
    return True


async def get_updates(call: Call) -> Any:
    return await call.webhook.get_updates(
        validation.integer(call.get("offset"), 0),
        validation.integer(call.get("limit"), 100, 1, 100),
        validation.integer(call.get("timeout"), 0, 0, validation.LONG_POLL_MAX_TIMEOUT),
        validation.allowed_updates(call.get("allowed_updates")),
    )


def get_webhook_info(call: Call) -> Any:
    hook = call.webhook
    info: JSON = {
        "url": hook.url or "",
        "has_custom_certificate": False,
        "pending_update_count": len(hook.pending()),
    }
    if hook.url:
        info.update(max_connections=40, ip_address="127.0.0.1")
    if hook.allowed_updates:
        info["allowed_updates"] = hook.allowed_updates
    if hook.last_error_date:
        info.update(
            last_error_date=hook.last_error_date, last_error_message=hook.last_error_message
        )
    return info


def send_message(call: Call) -> Any:
    # In Telegram's order: the text, the keyboard, the chat, then the message as a whole.
    raw = call.text("text")
    text = validation.message_text(raw, call.text("parse_mode"))
    markup = call.reply_markup()
    chat = call.reachable_chat()
    validation.visible_message(text)
    msg = _message(call, chat)
    msg["text"] = text
    if markup is not None and "inline_keyboard" in markup:
        msg["reply_markup"] = markup
    return _record(call, chat, "sendMessage", msg, raw)


def _media(call: Call, kind: str) -> tuple[Chat, JSON, str | None]:
    """A photo's or document's chat, message and raw caption, checked in Telegram's order."""
    if not call.has_upload(kind):
        raise bad_request(f"there is no {kind} in the request")
    raw = call.text("caption")
    caption = validation.caption(raw, call.text("parse_mode"))
    markup = call.reply_markup()
    chat = call.reachable_chat()
    msg = _message(call, chat)
    if caption:
        msg["caption"] = caption
    if markup is not None and "inline_keyboard" in markup:
        msg["reply_markup"] = markup
    return chat, msg, raw


def send_photo(call: Call) -> Any:
    chat, msg, raw = _media(call, "photo")
    stored = call.upload("photo", "photos", ".jpg", "image/jpeg")
    msg["photo"] = [photo_size(stored)]
    return _record(call, chat, "sendPhoto", msg, raw)


def send_document(call: Call) -> Any:
    chat, msg, raw = _media(call, "document")
    stored = call.upload("document", "documents", ".bin", "application/octet-stream")
    msg["document"] = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_name": stored.path.rsplit("/", 1)[-1],
        "mime_type": stored.mime_type,
        "file_size": len(stored.data),
    }
    return _record(call, chat, "sendDocument", msg, raw)


def photo_size(stored: StoredFile, width: int = 0, height: int = 0) -> JSON:
    if not (width and height):
        width, height = image_size(stored.data)
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": len(stored.data),
        "width": width,
        "height": height,
    }


def image_size(data: bytes) -> tuple[int, int]:
    """PNG and GIF headers carry the size; anything else reports 1x1 (ptb needs numbers)."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:4] == b"GIF8" and len(data) >= 10:
        return int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    return 1, 1


def _edit(call: Call, text_field: str | None) -> Any:
    parse_mode = call.text("parse_mode")
    raw = call.text(text_field) if text_field is not None else None
    text: str | None = None
    if text_field == "text":
        text = validation.message_text(raw, parse_mode)
    elif text_field == "caption":
        text = validation.caption(raw, parse_mode)
    markup = call.reply_markup()
    if not call.get("chat_id") and validation.integer(call.get("message_id"), 0) == 0:
        if not call.get("inline_message_id"):
            raise bad_request("message identifier is not specified")
        raise bad_request("inline messages are not supported by the local stand-in")
    chat = call.reachable_chat()
    sent = call.state.sent_message(chat, call.get("message_id"), "edit")
    msg = sent.message
    if text_field == "text":
        if "text" not in msg:
            raise bad_request("there is no text in the message to edit")
        assert text is not None
        validation.visible_message(text)
    elif text_field == "caption" and "text" in msg:
        raise bad_request("there is no caption in the message to edit")
    new = dict(msg)
    # Telegram drops the inline keyboard when an edit does not repeat it.
    new.pop("reply_markup", None)
    if markup is not None and "inline_keyboard" in markup:
        new["reply_markup"] = markup
    if text_field is not None:
        if text:
            new[text_field] = text
        else:
            new.pop(text_field, None)  # an empty caption removes it
    if {k: v for k, v in new.items() if k != "edit_date"} == {
        k: v for k, v in msg.items() if k != "edit_date"
    }:
        raise bad_request(
            "message is not modified: specified new message content and reply markup are "
            "exactly the same as a current content and reply markup of the message"
        )
    new["edit_date"] = now()
    sent.message = new
    sent.edits += 1
    if text_field is not None:
        sent.raw_text, sent.parse_mode = raw, parse_mode
    return new


def edit_message_text(call: Call) -> Any:
    return _edit(call, "text")


def edit_message_caption(call: Call) -> Any:
    return _edit(call, "caption")


def edit_message_reply_markup(call: Call) -> Any:
    return _edit(call, None)


def delete_message(call: Call) -> Any:
    if not call.get("chat_id"):
        raise bad_request("chat identifier is not specified")
    if validation.integer(call.get("message_id"), 0) == 0:
        raise bad_request("message identifier is not specified")
    chat = call.chat()
    call.state.sent_message(chat, call.get("message_id"), "delete").deleted = True
    return True


def answer_callback_query(call: Call) -> Any:
    record = call.state.callbacks.get(call.text("callback_query_id") or "")
    if record is None or record.callback_answer is not None:
        raise bad_request("query is too old and response timeout expired or query ID is invalid")
    record.callback_answer = {
        "text": call.text("text"),
        "show_alert": call.flag("show_alert"),
        "url": call.text("url"),
    }
    return True


def get_file(call: Call) -> Any:
    stored = call.state.files.get(call.text("file_id") or "")
    if stored is None:
        raise bad_request("invalid file_id")
    return stored.to_json()


def set_my_commands(call: Call) -> Any:
    commands = json_field(call.get("commands"))
    if not isinstance(commands, list) or not all(
        isinstance(c, dict) and c.get("command") and c.get("description") for c in commands
    ):
        raise bad_request("can't parse commands JSON object")
    call.state.commands = commands
    return True


def get_my_commands(call: Call) -> Any:
    return call.state.commands


def delete_my_commands(call: Call) -> Any:
    call.state.commands = []
    return True


def send_chat_action(call: Call) -> Any:
    validation.chat_action(call.text("action"))
    call.reachable_chat()
    return True


METHODS: dict[str, Callable[[Call], Any]] = {
    "getme": get_me,
    "setwebhook": set_webhook,
    "deletewebhook": delete_webhook,
    "getwebhookinfo": get_webhook_info,
    "getupdates": get_updates,
    "sendmessage": send_message,
    "sendphoto": send_photo,
    "senddocument": send_document,
    "editmessagetext": edit_message_text,
    "editmessagecaption": edit_message_caption,
    "editmessagereplymarkup": edit_message_reply_markup,
    "deletemessage": delete_message,
    "answercallbackquery": answer_callback_query,
    "getfile": get_file,
    "setmycommands": set_my_commands,
    "getmycommands": get_my_commands,
    "deletemycommands": delete_my_commands,
    "sendchataction": send_chat_action,
}


def error_response(exc: TelegramError) -> web.Response:
    body: JSON = {"ok": False, "error_code": exc.code, "description": exc.description}
    if exc.retry_after is not None:
        body["parameters"] = {"retry_after": exc.retry_after}
    return web.json_response(body, status=exc.code)


def too_many(retry_after: int) -> TelegramError:
    return TelegramError(429, f"Too Many Requests: retry after {retry_after}", retry_after)


@dataclass
class BotApi:
    state: BotState
    webhook: Webhook
    faults: Faults
    per_chat: Interval | None  # None when rate limiting is off
    overall: Window | None

    async def handle(self, request: web.Request) -> web.Response:
        token, name = request.match_info["token"], request.match_info["method"].lower()
        method = METHODS.get(name)  # Telegram method names are case-insensitive
        if method is None:
            return error_response(TelegramError(404, "Not Found: method not found"))
        params, files = await read_params(request)
        call = Call(token, params, files, self.state, self.webhook)
        self.state.bot = bot_user(token)
        try:
            fault = self.faults.take(name)
            if fault is not None:
                if fault.status == 429:
                    raise too_many(fault.retry_after)
                raise TelegramError(fault.status, "Internal Server Error: injected fault")
            if name in SEND_METHODS:
                self._check_rate(call)
            result = method(call)
            if inspect.isawaitable(result):  # getUpdates waits (long polling)
                result = await result
        except TelegramError as exc:
            return error_response(exc)
        return web.json_response({"ok": True, "result": result})

    def _check_rate(self, call: Call) -> None:
        if self.per_chat is None or self.overall is None:
            return
        t = time.monotonic()
        wait = self.overall.wait_for(t)
        if wait:
            raise too_many(wait)
        wait = self.per_chat.wait_for(str(call.get("chat_id")), t)
        if wait:
            self.overall.forget_last()
            raise too_many(wait)

    async def download(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        for stored in self.state.files.values():
            if stored.path == path:
                return web.Response(body=stored.data, content_type=stored.mime_type)
        return web.json_response(
            {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
        )
