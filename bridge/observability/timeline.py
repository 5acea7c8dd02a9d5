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

import json
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
# Kept (not deleted at the end) for `make report` (tools/report): JSON list of the stretch's
# events, oldest first, the last HISTORY_KEPT: {"e": "handoff", "at": ms, "reason": r} and
# {"e": "closed", "at": ms}. It lives and expires with the conversation's hash.
HISTORY = "timeline"
HISTORY_KEPT = 50

# Appends one event to HISTORY, only while the conversation is stored (a late write must not
# leave a partial record behind). KEYS: conversation. ARGV: field, event (JSON), kept.
_APPEND = """
if redis.call('HEXISTS', KEYS[1], 'channel') == 0 then return 0 end
local raw = redis.call('HGET', KEYS[1], ARGV[1])
local events = {}
if raw then
  local ok, decoded = pcall(cjson.decode, raw)
  if ok and type(decoded) == 'table' then events = decoded end
end
table.insert(events, cjson.decode(ARGV[2]))
while #events > tonumber(ARGV[3]) do table.remove(events, 1) end
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(events))
return 1
"""

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
        self._append = redis.register_script(_APPEND)

    async def handed_over(self, conversation_id: str, reason: str) -> None:
        metrics.handoff(reason)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.conversation(conversation_id), HANDOFF, now_ms())
            pipe.hdel(keys.conversation(conversation_id), FIRST_REPLY)
            await pipe.execute()
        await self._remember(conversation_id, {"e": "handoff", "at": now_ms(), "reason": reason})

    @staticmethod
    def staff_reply_counted(now_ms: int, first_after_handoff_ms: int | None) -> None:
        """The metrics of a staff reply, whose stamps (activity, started, first reply) the relay
        script already wrote in Redis (Outbox.relay_staff: no round trip of its own)."""
        metrics.message("slack", "in")
        if first_after_handoff_ms is not None:
            metrics.first_human_reply((now_ms - first_after_handoff_ms) / 1000)

    async def closed(self, conversation_id: str) -> None:
        """Call when a conversation is closed (by staff or customer); times it, counts it."""
        await self._redis.zrem(keys.activity(conversation_id), conversation_id)
        await self._remember(conversation_id, {"e": "closed", "at": now_ms()})
        await self._end(conversation_id, "closed")

    async def _remember(self, conversation_id: str, event: dict[str, Any]) -> None:
        """Append to the conversation's HISTORY; never raises (the report can do without)."""
        try:
            await self._append(
                keys=[keys.conversation(conversation_id)],
                args=[HISTORY, json.dumps(event), HISTORY_KEPT],
            )
        except Exception as exc:
            log.warning("could not record the timeline of %s: %s", conversation_id, exc)

    async def sweep_idle(self, idle_after_s: float, batch: int = 100) -> int:
        """End conversations nobody wrote in for `idle_after_s`; returns how many."""
        cutoff = now_ms() - int(idle_after_s * 1000)
        ended = 0
        # One index per partition tag (keys.activity), each claimed in its own step.
        for index in keys.activity_shards():
            ids: Any = await self._claim_idle(keys=[index], args=[cutoff, batch])
            for conversation_id in ids:
                await self._end(str(conversation_id), "idle")
            ended += len(ids)
        return ended

    async def _end(self, conversation_id: str, how: str) -> None:
        key = keys.conversation(conversation_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hmget(key, STARTED, HANDOFF)
            pipe.hdel(key, STARTED, HANDOFF, FIRST_REPLY)
            (started, handoff_at), _ = await pipe.execute()
        seconds = (now_ms() - int(started)) / 1000 if started else None
        metrics.conversation_ended("person" if handoff_at else "bot", how, seconds)
