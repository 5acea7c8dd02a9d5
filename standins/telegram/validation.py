"""Parameters checked as the Bot API checks them: what Telegram would refuse, the stand-in refuses,
with Telegram's error description, so a bridge that would fail against Telegram fails here.

The descriptions and the order of the checks follow the Bot API server (tdlib/telegram-bot-api)
and TDLib behind it: numbers are read leniently and clamped, a message's text is checked before
its chat, and TDLib's own messages arrive with their first letter lowered after "Bad Request: ".
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any
from urllib.parse import urlsplit

from .._common import json_field
from .markup import visible_text
from .state import bad_request

JSON = dict[str, Any]

TEXT_LIMIT = 4096  # UTF-16 code units, after entity parsing
CAPTION_LIMIT = 1024
RAW_TEXT_LIMIT = 1 << 15  # bytes, before parsing
CALLBACK_DATA_LIMIT = 64  # bytes
LONG_POLL_MAX_TIMEOUT = 50
SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]*")
WEBHOOK_PORTS = (80, 88, 443, 8443)
CHAT_ACTIONS = {
    "typing",
    "upload_photo",
    "record_video",
    "upload_video",
    "record_voice",
    "upload_voice",
    "upload_document",
    "choose_sticker",
    "find_location",
    "record_video_note",
    "upload_video_note",
}
# Inline keyboard buttons other than url and callback_data buttons (each a kind of its own).
OTHER_BUTTON_KINDS = (
    "callback_game",
    "pay",
    "switch_inline_query",
    "switch_inline_query_chosen_chat",
    "switch_inline_query_current_chat",
    "login_url",
    "web_app",
    "copy_text",
)
_LEADING_INTEGER = re.compile(r"\s*([+-]?\d+)")


def integer(value: Any, default: int, low: int | None = None, high: int | None = None) -> int:
    """An integer parameter as Telegram reads it: leading digits, anything else 0, clamped."""
    if value is None or value == "":
        number = default
    elif isinstance(value, bool):
        number = int(value)
    elif isinstance(value, int):
        number = value
    else:
        match = _LEADING_INTEGER.match(str(value))
        number = int(match.group(1)) if match else 0
    if low is not None:
        number = max(low, number)
    if high is not None:
        number = min(high, number)
    return number


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def message_text(raw: str | None, parse_mode: str | None) -> str:
    """sendMessage/editMessageText's text, checked before anything else: what the customer
    will see (the message-level checks, `visible_message`, come after the chat's)."""
    if not raw:
        raise bad_request("message text is empty")
    if len(raw.encode()) > RAW_TEXT_LIMIT:
        raise bad_request("text is too long")
    return visible_text(raw, parse_mode)


def visible_message(text: str) -> None:
    if not text.strip():
        raise bad_request("message must be non-empty")
    if utf16_len(text) > TEXT_LIMIT:
        raise bad_request("message is too long")


def caption(raw: str | None, parse_mode: str | None) -> str | None:
    if not raw:
        return None
    if len(raw.encode()) > RAW_TEXT_LIMIT:
        raise bad_request("text is too long")
    text = visible_text(raw, parse_mode)
    if utf16_len(text) > CAPTION_LIMIT:
        raise bad_request("message caption is too long")
    return text


def reply_markup(value: Any) -> JSON | None:
    """The reply_markup parameter: an InlineKeyboardMarkup (or another keyboard) or None."""
    if value is None or value == "":
        return None
    markup = json_field(value)
    if isinstance(value, str | bytes) and markup is value:
        raise bad_request("can't parse reply keyboard markup JSON object")
    if not isinstance(markup, dict):
        raise bad_request("object expected as reply markup")
    keyboard = markup.get("keyboard")
    if keyboard is not None:
        if not _rows(keyboard):
            raise bad_request('field "keyboard" must be an Array of Arrays')
        for row in keyboard:
            for button in row:
                _keyboard_button(button)
    inline = markup.get("inline_keyboard")
    if inline is not None:
        if not _rows(inline):
            raise bad_request(
                'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
            )
        for row in inline:
            for button in row:
                _inline_button(button)
        # What Telegram's servers refuse, once the Bot API has read the keyboard.
        for row in inline:
            for button in row:
                if not str(button["text"]).strip():
                    raise bad_request("BUTTON_TEXT_INVALID")
    return markup


def _rows(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(row, list) for row in value)


def _string_field(button: JSON, name: str, what: str, required: bool = False) -> str:
    value = button.get(name)
    if value is None:
        if required:
            raise bad_request(f"can't parse {what}: Can't find field \"{name}\"")
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise bad_request(f'can\'t parse {what}: Field "{name}" must be of type String')
    return str(value)


def _keyboard_button(button: Any) -> None:
    if isinstance(button, str):
        return
    if not isinstance(button, dict):
        raise bad_request(
            "can't parse keyboard button: KeyboardButton must be a String or an Object"
        )
    _string_field(button, "text", "keyboard button", required=True)


def _inline_button(button: Any) -> None:
    what = "inline keyboard button"
    if not isinstance(button, dict):
        raise bad_request(f"can't parse {what}: InlineKeyboardButton must be an Object")
    _string_field(button, "text", what, required=True)
    url = _string_field(button, "url", what)
    if url:
        _button_url(url)
        return
    data = _string_field(button, "callback_data", what)
    if data:
        if len(data.encode()) > CALLBACK_DATA_LIMIT:
            raise bad_request("BUTTON_DATA_INVALID")
        return
    if not any(kind in button for kind in OTHER_BUTTON_KINDS):
        raise bad_request(f"can't parse {what}: Text buttons are unallowed in the inline keyboard")


def _button_url(url: str) -> None:
    """Telegram opens http(s) links to public hosts and tg:// links; not localhost or a bare
    word (the app could not open them)."""
    invalid = f"inline keyboard button URL '{url}' is invalid"
    parts = urlsplit(url if "://" in url else f"http://{url}")
    scheme = parts.scheme.lower()
    if scheme == "tg":
        if not (parts.netloc or parts.path):
            raise bad_request(f"{invalid}: Wrong URL")
        return
    if scheme not in ("http", "https"):
        raise bad_request(f"{invalid}: Unsupported URL protocol")
    try:
        host = parts.hostname or ""
        parts.port  # noqa: B018 (raises on a malformed port)
    except ValueError:
        raise bad_request(f"{invalid}: Wrong HTTP URL") from None
    if "." not in host or host.endswith(".") or _is_loopback(host):
        raise bad_request(f"{invalid}: Wrong HTTP URL")


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def webhook_url(url: str) -> None:
    """setWebhook's url. Telegram calls only https URLs, on ports 443, 80, 88 or 8443 of public
    addresses. The stand-in also calls loopback addresses, over http there too: the bridge under
    test listens on a free loopback port, without TLS. Anything else it refuses as Telegram
    does."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        raise bad_request("invalid webhook URL specified") from None
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise bad_request("invalid webhook URL specified")
    if _is_loopback(host):
        return
    if parts.scheme.lower() != "https":
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    if (port or 443) not in WEBHOOK_PORTS:
        raise bad_request("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")


def secret_token(secret: str) -> None:
    if len(secret) > 256:
        raise bad_request("secret token is too long")
    if not SECRET_TOKEN.fullmatch(secret):
        raise bad_request("secret token contains unallowed characters")


def allowed_updates(value: Any) -> list[str] | None:
    """None: keep the previous setting; [] the default set."""
    if value is None or value == "":
        return None
    parsed = json_field(value)
    if isinstance(parsed, str):
        parsed = [parsed]
    if not isinstance(parsed, list):
        return None
    return [str(kind) for kind in parsed]


def chat_action(action: str | None) -> None:
    if (action or "").lower() not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")


def chat_id(value: Any) -> None:
    if value is None or str(value) == "":
        raise bad_request("chat_id is empty")
