"""parse_mode checked like Telegram: "HTML" (unknown tags, stray '<', unbalanced tags),
"MarkdownV2" (unescaped reserved characters, unclosed entities) and the legacy "Markdown" fail
with "can't parse entities", so a bridge that forgets to escape customer text finds out here.
Any other parse_mode is refused. The messages are TDLib's (the library behind the Bot API)."""

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


# MarkdownV2: these must be escaped with a preceding '\\' wherever they are not markup.
MARKDOWN_V2_RESERVED = "_*[]()~`>#+-=|{}.!"
_V2_NAMES = {
    "*": "Bold",
    "_": "Italic",
    "__": "Underline",
    "~": "Strikethrough",
    "||": "Spoiler",
    "[": "TextUrl",
    "![": "CustomEmoji",
    "`": "Code",
    "```": "Pre",
}


def _reserved(char: str) -> TelegramError:
    return _fail(f"Character '{char}' is reserved and must be escaped with the preceding '\\'")


def _url_end(text: str, start: int) -> int:
    """Index just past the ')' closing the URL that starts at text[start] == '('."""
    pos = start + 1
    while pos < len(text):
        if text[pos] == "\\" and pos + 1 < len(text):
            pos += 2
            continue
        if text[pos] == ")":
            return pos + 1
        pos += 1
    raise _fail(f"Can't find end of a URL at byte offset {_offset(text, start)}")


def strip_markdown_v2(text: str) -> str:
    """The text a customer sees of a MarkdownV2 message, or TelegramError 400."""
    out: list[str] = []
    stack: list[tuple[str, int]] = []  # (opening marker, byte offset)
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char == "\\" and pos + 1 < len(text) and 0 < ord(text[pos + 1]) <= 126:
            out.append(text[pos + 1])
            pos += 2
            continue
        inner = stack[-1][0] if stack else ""
        if inner in ("`", "```"):
            if inner == "```" and text.startswith("```", pos):
                stack.pop()
                pos += 3
            elif inner == "`" and char == "`":
                stack.pop()
                pos += 1
            else:
                out.append(char)
                pos += 1
            continue
        if char not in MARKDOWN_V2_RESERVED:
            out.append(char)
            pos += 1
            continue
        if char == ">" and (pos == 0 or text[pos - 1] == "\n"):
            pos += 1  # a quote line
            continue
        closing = {
            "*": char == "*",
            "_": char == "_" and not text.startswith("__", pos),
            "__": text.startswith("__", pos),
            "~": char == "~",
            "||": text.startswith("||", pos),
            "[": char == "]",
            "![": char == "]",
        }.get(inner, False)
        if closing:
            marker, _ = stack.pop()
            pos += len(marker) if marker in ("__", "||") else 1
            if marker in ("[", "![") and text.startswith("(", pos):
                pos = _url_end(text, pos)
            continue
        at = _offset(text, pos)
        if text.startswith("```", pos):
            end_of_language = text.find("\n", pos + 3)
            language = text[pos + 3 : end_of_language] if end_of_language >= 0 else ""
            skip = end_of_language + 1 if language and " " not in language else pos + 3
            stack.append(("```", at))
            pos = skip
            continue
        for marker in ("__", "||", "![", "*", "_", "~", "[", "`"):
            if text.startswith(marker, pos):
                stack.append((marker, at))
                pos += len(marker)
                break
        else:
            raise _reserved(char)
    if stack:
        marker, at = stack[-1]
        raise _fail(f"Can't find end of {_V2_NAMES[marker]} entity at byte offset {at}")
    return "".join(out)


def strip_markdown(text: str) -> str:
    """The legacy "Markdown": *bold*, _italic_, `code`, ```pre``` and [text](url); only those
    four characters can be escaped, and nothing nests."""
    out: list[str] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char == "\\" and pos + 1 < len(text) and text[pos + 1] in "_*`[":
            out.append(text[pos + 1])
            pos += 2
            continue
        if char not in "_*`[":
            out.append(char)
            pos += 1
            continue
        marker = "```" if text.startswith("```", pos) else char
        close = "]" if marker == "[" else marker
        end = text.find(close, pos + len(marker))
        if end < 0:
            at = _offset(text, pos)
            raise _fail(f"Can't find end of the entity starting at byte offset {at}")
        out.append(text[pos + len(marker) : end])
        pos = end + len(close)
        if marker == "[" and text.startswith("(", pos):
            url_end = text.find(")", pos)
            if url_end >= 0:
                pos = url_end + 1
    return "".join(out)


def visible_text(text: str, parse_mode: str | None) -> str:
    """The text as the customer sees it; parse_mode is case-insensitive, like Telegram's."""
    mode = (parse_mode or "").lower()
    if not text or mode in ("", "none"):
        return text
    if mode == "html":
        return strip_html(text)
    if mode == "markdownv2":
        return strip_markdown_v2(text)
    if mode == "markdown":
        return strip_markdown(text)
    raise bad_request("unsupported parse_mode")
