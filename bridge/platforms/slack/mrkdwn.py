"""Slack's mrkdwn: conversation content rendered for a thread (escaped, so no customer can ping
`<!channel>` or forge a link), and staff mrkdwn read back as plain text."""

from __future__ import annotations

import re
from collections.abc import Iterable

from bridge import text_parts
from bridge.models import Message, Role
from bridge.texts import staff as texts

# Slack shows up to 40k characters, but long messages are collapsed and Block Kit sections stop
# at 3,000; staying well under keeps every part readable in full.
POST_LIMIT = 3500


def escape(text: str) -> str:
    """Neutralise Slack control sequences so customer text can never ping or forge a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def transcript_line(message: Message) -> str:
    label = texts.ROLE_LABELS[message.role]
    if message.role is Role.STAFF and message.author:
        label = f"{label} ({escape(message.author)})"
    return f"*{label}:* {escape(message.text)}"


def customer_post(text: str) -> str:
    return transcript_line(Message(role=Role.CUSTOMER, text=text))


def transcript_posts(transcript: Iterable[Message]) -> list[str]:
    """The conversation so far, for the thread under the handoff card, split into postable parts."""
    lines = [transcript_line(m) for m in transcript]
    body = [texts.TRANSCRIPT_HEADING, *lines] if lines else [texts.NO_TRANSCRIPT]
    return split_posts(body)


def split_posts(lines: list[str], limit: int = POST_LIMIT) -> list[str]:
    return text_parts.split_posts(lines, limit)


_CUSTOMER_LINE = re.compile(r"^\*" + re.escape(texts.ROLE_LABELS[Role.CUSTOMER]) + r":\* ?(.*)$")


def customer_words(post: str) -> str | None:
    """The customer's words in one of the bridge's thread posts ("*Customer:* …"); in a
    transcript post, the last customer line. None when the post shows no customer message."""
    found = [m.group(1) for line in post.splitlines() if (m := _CUSTOMER_LINE.match(line))]
    return unescape(found[-1]) if found else None


def quote(text: str, limit: int = 120) -> str:
    """A customer's words, shortened and escaped, to quote in a staff notice."""
    return escape(text if len(text) <= limit else text[: limit - 3] + "…")


_LABELLED_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)\|([^>]+)>")
_BARE_LINK = re.compile(r"<((?:https?|mailto):[^>]+)>")
_MENTION = re.compile(r"<[@#!]([^|>]+)(?:\|([^>]+))?>")


def staff_text_to_plain(text: str) -> str:
    """Slack mrkdwn from a staff member, as plain text a customer can read."""
    text = _LABELLED_LINK.sub(
        lambda m: f"{m.group(2)} ({m.group(1).removeprefix('mailto:')})", text
    )
    text = _BARE_LINK.sub(lambda m: m.group(1).removeprefix("mailto:"), text)
    text = _MENTION.sub(lambda m: "@" + (m.group(2) or m.group(1)), text)
    return unescape(text)
