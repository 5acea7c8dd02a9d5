"""Talks to the Rasa server's REST channel and reads the assistant's decision."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp

from bridge.models import Button, HandoffReason, Message, RecentIntent, Role
from bridge.observability import metrics
from bridge.rasa_servers import RasaServers, parse_urls

log = logging.getLogger(__name__)


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


# The metadata key carrying the bridge's id of the customer message (its transcript id). Rasa
# keeps a message's metadata in the tracker's user event, so after a server died mid-turn the
# bridge can tell whether that server got as far as saving the turn.
MESSAGE_ID = "bridge_message_id"
# Rasa's lock store keeps a conversation's lock for this long when the server holding it dies
# (TICKET_LOCK_LIFETIME, Rasa's default 60 s); a retry of that conversation waits for it.
LOCK_LIFETIME_S = 60.0
CONNECT_TIMEOUT_S = 3.0


class _NotSent(Exception):
    """The request never reached the server (no connection): safe to send elsewhere."""


class _AnswerLost(Exception):
    """The request was sent and the connection died before the answer: the server may have
    processed the message."""


class RasaClient:
    """The Rasa servers of RASA_URL (one or several, sharing trackers and locks in Redis).

    A turn goes to the conversation's preferred healthy server (bridge/rasa_servers.py). One
    that cannot connect is sent to the next server. One whose server died after taking the
    request is settled by the tracker (`_settle`): the replies Rasa saved are delivered, a
    message Rasa never saved is sent again, anything unclear raises RasaUnavailable (the caller
    hands the customer to a person). Never both, never neither.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        timeout_s: float,
        lock_lifetime_s: float = LOCK_LIFETIME_S,
    ) -> None:
        self._session = session
        self.servers = RasaServers(session, parse_urls(base_url))
        self._timeout_s = timeout_s
        self._lock_lifetime_s = lock_lifetime_s
        self._timeout = _timeout(timeout_s)
        # The card's intents are a nicety: never hold the handoff notice back long for them.
        self._tracker_timeout = _timeout(min(timeout_s, 3.0))

    async def watch(self) -> None:
        """The servers' background health check."""
        await self.servers.watch()

    async def send(self, sender: str, text: str, metadata: dict[str, Any] | None = None) -> BotTurn:
        """One customer message; `metadata` reaches the actions with it (who is asking, and
        the bridge's message id under MESSAGE_ID)."""
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
        message_id = str(metadata.get(MESSAGE_ID) or "")
        timeout = self._timeout
        settled = False
        for server in self.servers.order(sender):
            try:
                return await self._post(server, body, timeout)
            except _NotSent as exc:
                self.servers.mark_down(server, str(exc))
                continue
            except _AnswerLost as exc:
                self.servers.mark_down(server, str(exc))
                if settled or not message_id:
                    raise RasaUnavailable(f"{server} died mid-turn: {exc}") from None
                settled = True
                turn = await self._settle(server, sender, message_id)
                if turn is not None:
                    return turn
                # Rasa never saved the message: send it again, to the next server. The dead
                # server's lock on the conversation holds until it expires; wait for it.
                timeout = _timeout(self._timeout_s + self._lock_lifetime_s)
        raise RasaUnavailable("no Rasa server could be reached")

    async def _post(
        self, server: str, body: dict[str, Any], limit: aiohttp.ClientTimeout
    ) -> BotTurn:
        url = server + "/webhooks/rest/webhook"
        items = await _answer(server, self._session.post(url, json=body, timeout=limit))
        if not isinstance(items, list):
            raise RasaUnavailable("Rasa's reply is not a list of messages")
        self.servers.mark_up(server)
        return parse_turn(items)

    async def _settle(self, dead: str, sender: str, message_id: str) -> BotTurn | None:
        """After `dead` lost the connection mid-turn: the turn's replies if Rasa saved it (a
        tracker is saved once, when the turn is over, with the user message and every reply),
        None if it did not and never will, else RasaUnavailable.

        "Never will" needs the dead server's address to refuse connections (its process is
        gone), checked before the tracker is read: anything it saved is in Redis by then.
        """
        gone = await self.servers.refuses(dead)
        for other in self.servers.order(sender):
            if other == dead:
                continue
            try:
                events = await self._events(other, sender)
            except _NotSent as exc:
                self.servers.mark_down(other, str(exc))
                continue
            except (_AnswerLost, RasaUnavailable) as exc:
                raise RasaUnavailable(f"cannot read the tracker after {dead} died: {exc}") from None
            turn = replies_to(events, message_id)
            if turn is not None:
                log.warning(
                    "rasa %s died after saving the turn: replies taken from its tracker", dead
                )
                return turn
            if gone:
                log.warning("rasa %s died before saving the turn: sent to another server", dead)
                return None
            raise RasaUnavailable(f"{dead} lost the connection and may still be answering")
        raise RasaUnavailable(f"{dead} died mid-turn and no other Rasa server answers")

    async def _events(self, server: str, sender: str) -> list[dict[str, Any]]:
        url = f"{server}/conversations/{quote(sender, safe='')}/tracker"
        request = self._session.get(
            url, params={"include_events": "AFTER_RESTART"}, timeout=self._timeout
        )
        tracker = await _answer(server, request)
        events = tracker.get("events") if isinstance(tracker, dict) else None
        return [e for e in events or [] if isinstance(e, dict)]

    async def recent_intents(self, sender: str, count: int = 5) -> list[RecentIntent]:
        """What the assistant understood in the customer's last messages (for the staff card).

        Empty when Rasa cannot say: the card is still worth opening without it.
        """
        url = f"{self.servers.order(sender)[0]}/conversations/{quote(sender, safe='')}/tracker"
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
        path = f"/conversations/{quote(sender, safe='')}/tracker/events"
        for server in self.servers.order(sender):
            try:
                async with self._session.post(
                    server + path, json={"event": "restart"}, timeout=self._timeout
                ) as response:
                    if response.status != 200:
                        raise RasaUnavailable(f"Rasa answered HTTP {response.status} to a restart")
                    return
            except _CONNECT_FAILED as exc:
                self.servers.mark_down(server, _describe(exc))
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise RasaUnavailable(_describe(exc)) from exc
        raise RasaUnavailable("no Rasa server could be reached for a restart")


# No connection was made: the request cannot have reached Rasa. (A connect timeout is one.)
_CONNECT_FAILED = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)
# The connection died after the request went out, before the whole answer came back.
_CONNECTION_LOST = (
    aiohttp.ServerDisconnectedError,
    aiohttp.ClientOSError,
    aiohttp.ClientPayloadError,
)


async def _answer(server: str, request: Any) -> Any:
    """The JSON answer of one call to `server` (a session request, not yet awaited), its
    failures sorted: _NotSent (nothing reached Rasa), _AnswerLost (the request went out, the
    connection died), RasaUnavailable (an HTTP error, no answer in time, not JSON)."""
    try:
        async with request as response:
            if response.status != 200:
                raise RasaUnavailable(f"Rasa at {server} answered HTTP {response.status}")
            return await response.json()
    except _CONNECT_FAILED as exc:
        raise _NotSent(_describe(exc)) from exc
    except _CONNECTION_LOST as exc:
        raise _AnswerLost(_describe(exc)) from exc
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        # No answer in time (the server may still be working on it), or not JSON.
        raise RasaUnavailable(_describe(exc)) from exc


def _timeout(total_s: float) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(total=total_s, sock_connect=min(total_s, CONNECT_TIMEOUT_S))


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def replies_to(events: list[dict[str, Any]], message_id: str) -> BotTurn | None:
    """The turn Rasa saved for the customer message `message_id` (the bot's messages after its
    user event, up to the next one), as the REST channel would have answered it; None when
    the tracker has no such message."""
    start = None
    for index, event in enumerate(events):
        metadata = event.get("metadata")
        if (
            event.get("event") == "user"
            and isinstance(metadata, dict)
            and metadata.get(MESSAGE_ID) == message_id
        ):
            start = index
    if start is None:
        return None
    items: list[dict[str, Any]] = []
    for event in events[start + 1 :]:
        if event.get("event") == "user":
            break
        if event.get("event") == "bot":
            data = event.get("data")
            item = {k: v for k, v in (data if isinstance(data, dict) else {}).items() if v}
            if event.get("text"):
                item["text"] = event["text"]
            items.append(item)
    return parse_turn(items)


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
