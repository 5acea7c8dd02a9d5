"""Talks to the Rasa server's REST channel and reads the assistant's decision."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp

from bridge.models import Button, HandoffReason, Message, Role


class RasaUnavailable(Exception):
    """Rasa did not answer, or answered with something that is not a REST channel reply."""


@dataclass(frozen=True)
class BotTurn:
    replies: list[Message]
    handoff: HandoffReason | None


class RasaClient:
    def __init__(self, session: aiohttp.ClientSession, base_url: str, timeout_s: float) -> None:
        self._session = session
        self._url = base_url.rstrip("/") + "/webhooks/rest/webhook"
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def send(self, sender: str, text: str) -> BotTurn:
        try:
            async with self._session.post(
                self._url, json={"sender": sender, "message": text}, timeout=self._timeout
            ) as response:
                if response.status != 200:
                    raise RasaUnavailable(f"Rasa answered HTTP {response.status}")
                body = await response.json()
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise RasaUnavailable(str(exc) or type(exc).__name__) from exc
        if not isinstance(body, list):
            raise RasaUnavailable("Rasa's reply is not a list of messages")
        return parse_turn(body)


def parse_turn(items: list[Any]) -> BotTurn:
    replies: list[Message] = []
    handoff: HandoffReason | None = None
    for item in items:
        if not isinstance(item, dict):
            continue
        custom = item.get("custom")
        if isinstance(custom, dict) and isinstance(custom.get("handoff"), dict):
            handoff = HandoffReason.parse(custom["handoff"].get("reason"))
            continue
        text = item.get("text")
        if not isinstance(text, str) or not text:
            continue
        buttons = tuple(
            Button(title=str(b["title"]), payload=str(b["payload"]))
            for b in item.get("buttons") or []
            if isinstance(b, dict) and b.get("title") and b.get("payload")
        )
        replies.append(Message(role=Role.BOT, text=text, buttons=buttons))
    return BotTurn(replies=replies, handoff=handoff)
