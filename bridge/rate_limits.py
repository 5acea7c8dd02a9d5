"""Platform limits and customer quotas, shared by every replica through Redis.

Outbound: each limited thing (a Slack channel, a Telegram chat, the Telegram bot as a whole) has
a slot key holding the earliest time its next call may go out. Taking a slot checks every key
of the call and advances them together in one script, on Redis's clock, so two replicas never
both go. Inbound: a per-customer counter per minute.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from bridge import keys

# KEYS: slot keys; ARGV[i]: the interval (ms) of KEYS[i]; ARGV[#KEYS + 1]: '1' to take the
# slot, '0' to only ask. Answers 0 (taken, or free) or the milliseconds to wait.
_SLOT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local wait = 0
for i, key in ipairs(KEYS) do
  local next_at = tonumber(redis.call('GET', key) or '0')
  if next_at - now > wait then wait = next_at - now end
end
if wait > 0 or ARGV[#KEYS + 1] == '0' then return wait end
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[i])
  redis.call('SET', key, now + interval, 'PX', interval + 1000)
end
return 0
"""

# The staff channel's post slot, taken in turn: posts waiting for it go in the order they began
# to wait, across every replica (a partition with a backlog cannot starve the others), and a
# guest's new thread (docs/abuse.md) goes after every other waiting post, so anonymous handoffs
# never hold up signed-in customers or open threads. A waiter that stops asking (its process
# died) loses its turn 5 s after it was due to ask again.
# KEYS: the slot; the waiting calls (sorted set: call -> its turn); when each must ask again by
# (hash). ARGV: interval (ms), the call's id, '1' if it gives way. Answers 0 (taken) or the ms
# to wait before asking again.
_SLACK_SLOT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval, call = tonumber(ARGV[1]), ARGV[2]
local wait = math.max(tonumber(redis.call('GET', KEYS[1]) or '0') - now, 0)
local turn = now
if ARGV[3] == '1' then turn = now + 1e12 end
redis.call('ZADD', KEYS[2], 'NX', turn, call)
redis.call('HSET', KEYS[3], call, now + wait + 5000)
local head
for _ = 1, 32 do
  head = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
  if head == call then break end
  if tonumber(redis.call('HGET', KEYS[3], head) or '0') >= now then break end
  redis.call('ZREM', KEYS[2], head)
  redis.call('HDEL', KEYS[3], head)
end
redis.call('PEXPIRE', KEYS[2], 60000)
redis.call('PEXPIRE', KEYS[3], 60000)
if head ~= call then return math.max(wait, 20) end
if wait > 0 then return wait end
redis.call('SET', KEYS[1], now + interval, 'PX', interval + 1000)
redis.call('ZREM', KEYS[2], call)
redis.call('HDEL', KEYS[3], call)
return 0
"""

# Lua: a customer's quota (GCRA). A customer may send `per_minute` messages at once, then one
# every 60/per_minute seconds. Expects locals `quota_key` (the customer's theoretical arrival
# time; '' skips the check) and `per_minute`; sets `over_quota` (then nothing has changed).
# Also run inside the widget's record step (store._RECORD_ONCE), saving a round trip.
QUOTA_LUA = """
local over_quota = false
if quota_key ~= '' then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local interval = 60000 / tonumber(per_minute)
  local tat = math.max(tonumber(redis.call('GET', quota_key) or '0'), now)
  local next_tat = tat + interval
  if next_tat - now > 60000 + 1 then
    over_quota = true
  else
    redis.call('SET', quota_key, next_tat, 'PX', math.ceil(next_tat - now) + 1000)
  end
end
"""

# KEYS[1]: the customer's quota key; ARGV[1]: messages per minute. Answers 1 (accepted) or 0.
_QUOTA = (
    "local quota_key, per_minute = KEYS[1], ARGV[1]\n"
    + QUOTA_LUA
    + "if over_quota then return 0 end\nreturn 1\n"
)


@dataclass(frozen=True)
class Limits:
    """Spacing between calls; a little over the platform's figure absorbs network jitter."""

    slack_post_interval_s: float = 1.05
    telegram_chat_interval_s: float = 1.1
    telegram_per_s: float = 28.0


class PlatformLimiter:
    def __init__(self, redis: Redis, limits: Limits | None = None) -> None:
        self._redis = redis
        self._slot = redis.register_script(_SLOT)
        self._slack_slot = redis.register_script(_SLACK_SLOT)
        self.limits = limits or Limits()

    async def slack_post(self, channel: str, gives_way: bool = False) -> None:
        """Wait for your turn at the channel's next chat.postMessage slot, and take it;
        `gives_way`: only after every other post waiting for it."""
        slot_keys = [
            keys.slack_post_slot(channel),
            keys.slack_post_turns(channel),
            keys.slack_post_turns_due(channel),
        ]
        interval_ms = max(1, round(self.limits.slack_post_interval_s * 1000))
        args: list[Any] = [interval_ms, uuid.uuid4().hex, "1" if gives_way else "0"]
        # Waiting here is pacing (the platform would refuse an earlier call), not a handshake.
        while True:
            wait_ms: Any = await self._slack_slot(keys=slot_keys, args=args)
            if int(wait_ms) <= 0:
                return
            await asyncio.sleep(int(wait_ms) / 1000)

    async def slack_post_free(self, channel: str) -> None:
        """Wait until the channel may be posted to, without taking the slot."""
        await self._wait(
            [(keys.slack_post_slot(channel), self.limits.slack_post_interval_s)], False
        )

    async def telegram_send(self, chat_id: str) -> None:
        """Wait for, and take, a slot of the chat and of the bot's overall budget."""
        await self._take(
            [
                (keys.telegram_chat_slot(chat_id), self.limits.telegram_chat_interval_s),
                (keys.TELEGRAM_GLOBAL_SLOT, 1.0 / self.limits.telegram_per_s),
            ]
        )

    async def _take(self, slots: list[tuple[str, float]]) -> None:
        await self._wait(slots, True)

    async def _wait(self, slots: list[tuple[str, float]], take: bool) -> None:
        # Waiting here is pacing (the platform would refuse an earlier call), not a handshake.
        while True:
            wait_ms = await self._ask(slots, take)
            if wait_ms <= 0:
                return
            await asyncio.sleep(wait_ms / 1000)

    async def _ask(self, slots: list[tuple[str, float]], take: bool) -> int:
        args: list[Any] = [max(1, round(seconds * 1000)) for _, seconds in slots]
        args.append("1" if take else "0")
        wait: Any = await self._slot(keys=[key for key, _ in slots], args=args)
        return int(wait)


class CustomerQuota:
    """At most `per_minute` inbound messages per customer in any minute (a burst of that many,
    then one every 60/per_minute seconds)."""

    def __init__(self, redis: Redis, per_minute: int) -> None:
        self._quota = redis.register_script(_QUOTA)
        self.per_minute = per_minute

    @staticmethod
    def window() -> str:
        """The current clock minute: a customer over the quota is told once per minute."""
        return str(int(time.time() // 60))

    def in_script(self, source: str, customer: str, conversation_id: str) -> tuple[str, int] | None:
        """(key, per minute) for a script that checks the quota in its own step (QUOTA_LUA);
        None when there is no quota."""
        if self.per_minute <= 0:
            return None
        return keys.customer_quota(source, customer, conversation_id), self.per_minute

    async def allow(self, source: str, customer: str, conversation_id: str) -> bool:
        if self.per_minute <= 0:
            return True
        accepted: Any = await self._quota(
            keys=[keys.customer_quota(source, customer, conversation_id)], args=[self.per_minute]
        )
        return bool(accepted)
