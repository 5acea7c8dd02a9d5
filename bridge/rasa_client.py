"""Talks to the Rasa server's REST channel and reads the assistant's decision."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp

from bridge.models import Button, HandoffReason, Message, RecentIntent, Role
from bridge.observability import metrics


class RasaUnavailable(Exception):
    """Rasa did not answer, or answered with something that is not a REST channel reply."""


@dataclass(frozen=True)
class TurnDecision:
    """What the assistant made of the customer's message (action_route's `turn` payload)."""

    intent: str  # the classifier's own best guess, even when it fell back
    confidence: float
    outcome: str  # answer | abstain | handoff
    awaiting: bool = False  # the message answered the bot's question (an order number, ...)

    @classmethod
    def parse(cls, raw: Any) -> TurnDecision | None:
        if not isinstance(raw, dict) or raw.get("outcome") not in ("answer", "abstain", "handoff"):
            return None
        try:
            confidence = float(raw.get("confidence") or 0.0)
        except (TypeError, ValueError):
            confidence = 0.0
        return cls(
            str(raw.get("intent") or ""), confidence, str(raw["outcome"]), bool(raw.get("awaiting"))
        )


# The metadata key carrying what the customer saw on a quick reply they tapped (its title).
SAID = "said"


@dataclass(frozen=True)
class BotTurn:
    replies: list[Message]
    handoff: HandoffReason | None
    decision: TurnDecision | None = None
    # The customer's language, when the assistant handed over because it does not answer in it
    # or heard a request for a person in it (ISO 639-1; empty for English).
    language: str = ""


class RasaClient:
    def __init__(self, session: aiohttp.ClientSession, base_url: str, timeout_s: float) -> None:
        self._session = session
        self._base = base_url.rstrip("/")
        self._url = self._base + "/webhooks/rest/webhook"
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        # The card's intents are a nicety: never hold the handoff notice back long for them.
        self._tracker_timeout = aiohttp.ClientTimeout(total=min(timeout_s, 3.0))

    async def send(self, sender: str, text: str, metadata: dict[str, Any] | None = None) -> BotTurn:
        """One customer message; `metadata` reaches the actions with it (who is asking)."""
        started = time.monotonic()
        try:
            turn = await self._send(sender, text, metadata or {})
        except RasaUnavailable:
            metrics.rasa_answered(time.monotonic() - started, ok=False)
            raise
        metrics.rasa_answered(time.monotonic() - started, ok=True)
        return turn

    async def _send(self, sender: str, text: str, metadata: dict[str, Any]) -> BotTurn:
        body = {"sender": sender, "message": text, "metadata": metadata}
        try:
            async with self._session.post(self._url, json=body, timeout=self._timeout) as response:
                if response.status != 200:
                    raise RasaUnavailable(f"Rasa answered HTTP {response.status}")
                body = await response.json()
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise RasaUnavailable(str(exc) or type(exc).__name__) from exc
        if not isinstance(body, list):
            raise RasaUnavailable("Rasa's reply is not a list of messages")
        return parse_turn(body)

    async def recent_intents(self, sender: str, count: int = 5) -> list[RecentIntent]:
        """What the assistant understood in the customer's last messages (for the staff card).

        Empty when Rasa cannot say: the card is still worth opening without it.
        """
        url = f"{self._base}/conversations/{quote(sender, safe='')}/tracker"
        try:
            async with self._session.get(
                url, params={"include_events": "ALL"}, timeout=self._tracker_timeout
            ) as response:
                tracker = await response.json() if response.status == 200 else {}
        except (aiohttp.ClientError, TimeoutError, ValueError):
            return []
        events = tracker.get("events") if isinstance(tracker, dict) else None
        users = [e for e in events or [] if isinstance(e, dict) and e.get("event") == "user"]
        return [_understood(e) for e in users[-count:]]

    async def restart(self, sender: str) -> None:
        """Forget the conversation so the next message starts a fresh session (after staff
        hand it back), instead of landing in the middle of the pre-handoff dialogue."""
        url = f"{self._base}/conversations/{quote(sender, safe='')}/tracker/events"
        try:
            async with self._session.post(
                url, json={"event": "restart"}, timeout=self._timeout
            ) as response:
                if response.status != 200:
                    raise RasaUnavailable(f"Rasa answered HTTP {response.status} to a restart")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RasaUnavailable(str(exc) or type(exc).__name__) from exc


def _understood(event: dict[str, Any]) -> RecentIntent:
    """One user event of the tracker as the card shows it: the words the customer wrote or
    tapped (a quick reply reaches Rasa as its payload, with its title in the metadata)."""
    parse = event.get("parse_data") or {}
    metadata = event.get("metadata")
    said = metadata.get(SAID) if isinstance(metadata, dict) else None
    if isinstance(said, str) and said:
        event = {**event, "text": said}
    intent = parse.get("intent") or {}
    name, confidence = intent.get("name") or "", float(intent.get("confidence") or 0.0)
    if name == "nlu_fallback":
        # The fallback hides the classifier's own best guess; staff want to see it.
        for ranked in parse.get("intent_ranking") or []:
            if ranked.get("name") != "nlu_fallback":
                guess = f"{ranked.get('name')}?"
                return RecentIntent(
                    str(event.get("text") or ""), guess, float(ranked.get("confidence") or 0)
                )
    return RecentIntent(str(event.get("text") or ""), name, confidence)


def parse_turn(items: list[Any]) -> BotTurn:
    replies: list[Message] = []
    handoff: HandoffReason | None = None
    decision: TurnDecision | None = None
    language = ""
    for item in items:
        if not isinstance(item, dict):
            continue
        custom = item.get("custom")
        if isinstance(custom, dict) and isinstance(custom.get("handoff"), dict):
            handoff = HandoffReason.parse(custom["handoff"].get("reason"))
            language = _language_code(custom["handoff"].get("language"))
            continue
        if isinstance(custom, dict) and "turn" in custom:
            # For the bridge only (review, topic spikes): never shown to the customer.
            decision = TurnDecision.parse(custom["turn"]) or decision
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
    return BotTurn(replies=replies, handoff=handoff, decision=decision, language=language)


def _language_code(value: object) -> str:
    """An ISO 639-1 code as the assistant reports it, or "" for anything else."""
    code = str(value or "").strip().lower()
    return code if len(code) == 2 and code.isascii() and code.isalpha() else ""
