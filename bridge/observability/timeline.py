"""When a conversation started, was handed over, first answered by a person, and ended.

The timestamps live on the conversation's Redis hash, not in process memory, so the replica
that sees the staff reply can time it against the handoff another replica recorded.

"Ended" is one of two things, both counted in `bridge_conversations_ended_total`:
- how="closed": the closing feature calls `closed()`;
- how="idle": nobody wrote for `idle_after_s`; `sweep_idle()` (run by every replica, each
  conversation claimed by exactly one) ends it.
handled_by="bot" means no handoff happened in that stretch: the "resolved without a person"
count. It is an upper bound: a customer who gave up silently is in it too.
"""

from __future__ import annotations

import logging
from typing import Any

from redis.asyncio import Redis

from bridge import keys
from bridge.clock import now_ms
from bridge.observability import metrics

log = logging.getLogger(__name__)

# Hash fields on keys.conversation(id); deleted when the conversation ends, so a returning
# customer starts a new stretch.
STARTED = "started_at_ms"
HANDOFF = "handoff_at_ms"
FIRST_REPLY = "first_reply_at_ms"

# Takes the conversations idle since before ARGV[1] out of the activity set, so each one is
# ended by exactly one replica.
_CLAIM_IDLE = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
if #ids > 0 then redis.call('ZREM', KEYS[1], unpack(ids)) end
return ids
"""


class Timeline:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._claim_idle = redis.register_script(_CLAIM_IDLE)

    async def handed_over(self, conversation_id: str, reason: str) -> None:
        metrics.handoff(reason)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.conversation(conversation_id), HANDOFF, now_ms())
            pipe.hdel(keys.conversation(conversation_id), FIRST_REPLY)
            await pipe.execute()

    @staticmethod
    def staff_reply_counted(now_ms: int, first_after_handoff_ms: int | None) -> None:
        """The metrics of a staff reply, whose stamps (activity, started, first reply) the relay
        script already wrote in Redis (Outbox.relay_staff: no round trip of its own)."""
        metrics.message("slack", "in")
        if first_after_handoff_ms is not None:
            metrics.first_human_reply((now_ms - first_after_handoff_ms) / 1000)

    async def closed(self, conversation_id: str) -> None:
        """Call when a conversation is closed (by staff or customer); times it, counts it."""
        await self._redis.zrem(keys.ACTIVITY, conversation_id)
        await self._end(conversation_id, "closed")

    async def sweep_idle(self, idle_after_s: float, batch: int = 100) -> int:
        """End conversations nobody wrote in for `idle_after_s`; returns how many."""
        cutoff = now_ms() - int(idle_after_s * 1000)
        ids: Any = await self._claim_idle(keys=[keys.ACTIVITY], args=[cutoff, batch])
        for conversation_id in ids:
            await self._end(str(conversation_id), "idle")
        return len(ids)

    async def _end(self, conversation_id: str, how: str) -> None:
        key = keys.conversation(conversation_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hmget(key, STARTED, HANDOFF)
            pipe.hdel(key, STARTED, HANDOFF, FIRST_REPLY)
            (started, handoff_at), _ = await pipe.execute()
        seconds = (now_ms() - int(started)) / 1000 if started else None
        metrics.conversation_ended("person" if handoff_at else "bot", how, seconds)
