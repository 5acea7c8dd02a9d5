"""Turns conversation content into Slack mrkdwn and staff mrkdwn back into plain text."""

from __future__ import annotations

import re
from collections.abc import Iterable

from bridge.models import Message, Role

# Slack shows up to 40k characters, but long messages are collapsed and Block Kit sections stop
# at 3,000; staying well under keeps every part readable in full.
POST_LIMIT = 3500

_ROLE_LABELS = {
    Role.CUSTOMER: "Customer",
    Role.BOT: "Bot",
    Role.STAFF: "Staff",
    Role.SYSTEM: "Notice",
}
CHANNEL_LABELS = {"widget": "Web chat", "telegram": "Telegram"}


def escape(text: str) -> str:
    """Neutralise Slack control sequences so customer text can never ping or forge a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def transcript_line(message: Message) -> str:
    label = _ROLE_LABELS[message.role]
    if message.role is Role.STAFF and message.author:
        label = f"{label} ({escape(message.author)})"
    return f"*{label}:* {escape(message.text)}"


def customer_post(text: str) -> str:
    return transcript_line(Message(role=Role.CUSTOMER, text=text))


def transcript_posts(transcript: Iterable[Message]) -> list[str]:
    """The conversation so far, for the thread under the handoff card, split into postable parts."""
    lines = [transcript_line(m) for m in transcript]
    body = ["*Transcript so far:*", *lines] if lines else ["_No messages before the handoff._"]
    return split_posts(body)


def split_posts(lines: list[str], limit: int = POST_LIMIT) -> list[str]:
    """Pack lines into posts of at most `limit` characters; split, never cut, long lines."""
    posts: list[str] = []
    current = ""
    for line in lines:
        for piece in _pieces(line, limit):
            if current and len(current) + 1 + len(piece) > limit:
                posts.append(current)
                current = piece
            else:
                current = f"{current}\n{piece}" if current else piece
    if current:
        posts.append(current)
    return posts


def _pieces(line: str, limit: int) -> list[str]:
    pieces = []
    while len(line) > limit:
        # Prefer a space near the end so words stay whole; never split an escape like &amp;.
        cut = line.rfind(" ", limit // 2, limit)
        if cut <= 0:
            cut = limit
            amp = line.rfind("&", cut - 5, cut)
            if amp != -1 and ";" not in line[amp:cut]:
                cut = amp
        pieces.append(line[:cut])
        line = line[cut:].lstrip(" ")
    pieces.append(line)
    return pieces


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
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
