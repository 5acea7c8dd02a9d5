"""How a Telegram chat is named as a conversation."""

from __future__ import annotations


def conversation_id(chat_id: int | str) -> str:
    return f"tg-{chat_id}"


def chat_id(conversation_id: str) -> int:
    return int(conversation_id.removeprefix("tg-"))
