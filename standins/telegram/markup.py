"""parse_mode="HTML" checked like Telegram: unknown tags, stray '<' and unbalanced tags fail
with "can't parse entities", so a bridge that forgets to escape customer text finds out here."""

from __future__ import annotations

import html
import re

from .state import TelegramError, bad_request

TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)((?:\s[^<>]*)?)>")
ALLOWED = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "span",
    "tg-spoiler",
    "a",
    "tg-emoji",
    "code",
    "pre",
    "blockquote",
}


def _offset(text: str, index: int) -> int:
    return len(text[:index].encode())


def _fail(what: str) -> TelegramError:
    return bad_request(f"can't parse entities: {what}")


def strip_html(text: str) -> str:
    """The text a customer sees (tags removed, entities decoded), or TelegramError 400."""
    out: list[str] = []
    stack: list[str] = []
    pos = 0
    while pos < len(text):
        lt = text.find("<", pos)
        if lt < 0:
            out.append(html.unescape(text[pos:]))
            break
        out.append(html.unescape(text[pos:lt]))
        match = TAG.match(text, lt)
        if match is None:
            raise _fail(f"Unexpected end of name token at byte offset {_offset(text, lt)}")
        closing, name = match.group(1) == "/", match.group(2).lower()
        if name not in ALLOWED:
            kind = "end" if closing else "start"
            raise _fail(f'Unsupported {kind} tag "{name}" at byte offset {_offset(text, lt)}')
        if not closing:
            stack.append(name)
        elif not stack or stack[-1] != name:
            expected = f'"</{stack[-1]}>"' if stack else "nothing"
            raise _fail(
                f"Unmatched end tag at byte offset {_offset(text, lt)}, "
                f'expected {expected}, found "</{name}>"'
            )
        else:
            stack.pop()
        pos = match.end()
    if stack:
        raise _fail(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return "".join(out)


def visible_text(text: str, parse_mode: str | None) -> str:
    if parse_mode and parse_mode.upper() == "HTML":
        return strip_html(text)
    return text
