"""The one place that decides where a message goes: to the assistant, or to a person."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bridge import slack_format
from bridge.models import Conversation, HandoffReason, Message, Mode, Role
from bridge.outbox import Outbox
from bridge.rasa_client import RasaClient, RasaUnavailable
from bridge.store import ConversationStore, Inbound
from bridge.texts import handoff_notice

log = logging.getLogger(__name__)


class Router:
    def __init__(self, store: ConversationStore, outbox: Outbox, rasa: RasaClient) -> None:
        self._store = store
        self._outbox = outbox
        self._rasa = rasa
        # One turn at a time per conversation, so replies come back in the order asked.
        # Each lock is dropped once nobody holds or waits for it.
        self._turns: dict[str, asyncio.Lock] = {}
        self._turn_users: defaultdict[str, int] = defaultdict(int)

    async def accept(
        self, conversation: Conversation, message: Message, source: str, event_id: str
    ) -> Inbound:
        """Record a customer message (once per event id). Safe to acknowledge after this."""
        inbound = await self._store.record_inbound(conversation.id, message, source, event_id)
        if inbound.is_new and conversation.channel == "widget":
            await self._outbox.publish_to_widget(conversation.id, inbound.message)
        return inbound

    async def respond(
        self, conversation: Conversation, inbound: Inbound, payload: str = ""
    ) -> None:
        """Let the assistant answer an accepted message, unless a person has the conversation."""
        async with self._turn(conversation.id):
            current = await self._store.get(conversation.id) or conversation
            if current.mode is Mode.HUMAN:
                if inbound.mode is Mode.BOT and inbound.is_new:
                    # Accepted just before the handoff, so it was not queued for the thread.
                    await self._store.forward_to_thread(current.id, inbound.message.text)
                return
            if await self._store.is_answered(current.id, inbound.message.id):
                return
            try:
                turn = await self._rasa.send(current.id, payload or inbound.message.text)
            except RasaUnavailable as exc:
                log.warning("rasa unavailable for %s: %s", current.id, exc)
                await self._hand_over(current, HandoffReason.BOT_UNAVAILABLE, inbound.message.text)
                return
            for reply in turn.replies:
                await self._outbox.to_customer(current, reply)
            if turn.handoff is not None:
                await self._hand_over(current, turn.handoff, inbound.message.text)
            await self._store.mark_answered(current.id, inbound.message.id)

    async def staff_reply(
        self, conversation_id: str, text: str, author: str, event_id: str
    ) -> Message | None:
        """Send a staff member's thread reply to the customer (once per Slack event)."""
        conversation = await self._store.get(conversation_id)
        if conversation is None or not text.strip():
            return None
        message = Message(role=Role.STAFF, text=text, author=author)
        return await self._outbox.to_customer(
            conversation, message, once_key=self._store.event_key("slack", event_id)
        )

    async def _hand_over(
        self, conversation: Conversation, reason: HandoffReason, trigger: str
    ) -> None:
        transcript = await self._store.history(conversation.id)
        posts = slack_format.handoff_posts(conversation, reason, trigger, transcript)
        if not await self._store.take_over(conversation.id, str(reason), posts):
            return
        log.info("handed over %s (%s)", conversation.id, reason)
        await self._outbox.to_customer(
            conversation, Message(role=Role.SYSTEM, text=handoff_notice(reason))
        )

    @asynccontextmanager
    async def _turn(self, conversation_id: str) -> AsyncIterator[None]:
        lock = self._turns.setdefault(conversation_id, asyncio.Lock())
        self._turn_users[conversation_id] += 1
        try:
            async with lock:
                yield
        finally:
            self._turn_users[conversation_id] -= 1
            if not self._turn_users[conversation_id]:
                del self._turn_users[conversation_id], self._turns[conversation_id]
