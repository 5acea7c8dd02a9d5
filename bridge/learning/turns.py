"""What the router tells the learning loop: each assistant turn, and that a conversation is
active (which refreshes its retention time)."""

from __future__ import annotations

import logging
import time
from typing import Any

from redis.asyncio import Redis

from bridge import keys, redis_pool
from bridge.learning.spikes import SpikeRule, Spikes
from bridge.models import Conversation, Message
from bridge.outbox.outbox import Outbox
from bridge.rasa_client import TurnDecision

log = logging.getLogger(__name__)

# An answer below this confidence is worth a maintainer's look (the assistant abstains below
# the FallbackClassifier threshold, 0.5).
LOW_CONFIDENCE = 0.7
# A conversation's decisions: enough for any support conversation, bounded for a runaway one.
TURNS_KEPT = 500


def is_notable(decision: TurnDecision) -> bool:
    """Worth reviewing: the assistant could not, or only just, handle the message."""
    if decision.outcome != "answer":
        return True
    return decision.confidence < LOW_CONFIDENCE and not decision.awaiting


class Learning:
    def __init__(
        self,
        redis: Redis,
        outbox: Outbox,
        retention_s: int,
        staff_channel: str,
        spikes: SpikeRule,
    ) -> None:
        self._redis = redis
        self._retention_s = retention_s
        self._staff_channel = staff_channel
        self._spikes = Spikes(redis, outbox, spikes)

    async def record_turn(
        self,
        conversation: Conversation,
        message: Message,
        decision: TurnDecision | None,
        handoff_reason: str = "",
    ) -> None:
        """Keep the assistant's decision on a customer message; count it towards topic spikes.

        Never raises: learning must not cost a customer their answer.
        """
        if decision is None:
            return
        try:
            await self._record(conversation, message, decision, handoff_reason)
        except Exception as exc:
            log.warning("could not record the turn of %s: %s", conversation.id, exc)

    async def _record(
        self,
        conversation: Conversation,
        message: Message,
        decision: TurnDecision,
        handoff_reason: str,
    ) -> None:
        now = int(time.time() * 1000)
        fields: dict[Any, Any] = {
            "at": now,
            "message_id": message.id,
            "text": message.text,
            "intent": decision.intent,
            "confidence": decision.confidence,
            "outcome": decision.outcome,
            "awaiting": int(decision.awaiting),
            "reason": handoff_reason,
        }
        async with redis_pool.transaction(self._redis) as pipe:
            pipe.xadd(keys.turns(conversation.id), fields, maxlen=TURNS_KEPT, approximate=True)
            if is_notable(decision):
                pipe.zadd(keys.REVIEW, {conversation.id: now})
            await pipe.execute()
        if decision.outcome in ("abstain", "handoff"):
            await self._spikes.count_turn(
                conversation.id,
                message.text,
                decision.intent,
                decision.confidence,
                decision.outcome,
                handoff_reason,
                now,
            )

    async def touch(self, conversation_id: str) -> None:
        """The conversation is active: its data is kept for another retention period."""
        if not self._retention_s:
            return
        try:
            await expire_conversation(
                self._redis, conversation_id, self._retention_s, self._staff_channel
            )
        except Exception as exc:  # retention is refreshed again on the next message
            log.warning("could not refresh retention of %s: %s", conversation_id, exc)


async def expire_conversation(
    redis: Redis, conversation_id: str, ttl_s: int, staff_channel: str
) -> None:
    """Give every key of the conversation (and its Slack thread maps) the TTL `ttl_s`."""
    async with redis.pipeline(transaction=False) as pipe:
        pipe.hget(keys.conversation(conversation_id), "thread_ts")
        pipe.lrange(keys.earlier_threads(conversation_id), 0, -1)
        thread_ts, earlier = await pipe.execute()
    threads = [t for t in [thread_ts, *earlier] if t]
    async with redis.pipeline(transaction=False) as pipe:
        for key in keys.conversation_keys(conversation_id):
            pipe.expire(key, ttl_s)
        for ts in threads:
            pipe.expire(keys.slack_thread(staff_channel, ts), ttl_s)
        await pipe.execute()
