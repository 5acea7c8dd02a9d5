"""Abuse limits on what customers may start: conversations, messages, uploads and handoffs, per
source (a client address or a Telegram chat), per widget origin, per conversation and across
the whole bridge (docs/abuse.md).

Each limit is a bucket: `count` things per `period_s`, all at once, then evenly (GCRA, on
Redis's clock, so every replica shares it). A request takes from several buckets in one step,
all or none: a refused request costs nothing, so a customer who waits and retries is not
punished twice.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from bridge import keys
from bridge.observability import metrics

# KEYS: one per bucket. ARGV: per bucket, its cost, ms per unit of cost, and capacity in ms.
# Answers {0, 0} (taken from every bucket) or {ms to wait, the index of the first full bucket}.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local next_at = {}
for i, key in ipairs(KEYS) do
  local cost, interval, capacity = tonumber(ARGV[3*i-2]), tonumber(ARGV[3*i-1]), tonumber(ARGV[3*i])
  local tat = math.max(tonumber(redis.call('GET', key) or '0'), now)
  next_at[i] = math.ceil(tat + cost * interval)
  if next_at[i] - now > capacity then
    return {math.ceil(next_at[i] - capacity - now), i}
  end
end
for i, key in ipairs(KEYS) do
  redis.call('SET', key, next_at[i], 'PX', next_at[i] - now + 1000)
end
return {0, 0}
"""


@dataclass(frozen=True)
class Rate:
    """`count` per `period_s`; up to `burst` at once (0, or more than `count`: `count`). A
    count of 0 is no limit."""

    count: int
    period_s: float
    burst: int = 0

    @property
    def interval_ms(self) -> float:
        return self.period_s * 1000 / self.count

    @property
    def capacity_ms(self) -> float:
        return min(self.burst or self.count, self.count) * self.interval_ms


@dataclass(frozen=True)
class Bucket:
    limit: str  # names the limit in refusals and metrics
    subject: str  # whose bucket: an address, an origin, a conversation, "all"
    rate: Rate
    cost: float = 1.0


@dataclass(frozen=True)
class Refusal:
    limit: str
    retry_after_s: float


class RecentRefusals:
    """Buckets this process saw full, until they have room again: a client that keeps asking
    while refused is answered from memory, without a round trip to Redis, so a flood costs the
    bridge little. Never refuses what Redis would accept: a full bucket has no room before its
    retry time, whichever replica asks."""

    MAX_ENTRIES = 10_000

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._until: dict[tuple[str, str], float] = {}

    def refusal(self, buckets: list[Bucket]) -> Refusal | None:
        now = self._clock()
        for bucket in buckets:
            until = self._until.get((bucket.limit, bucket.subject))
            if until is not None and until > now:
                return Refusal(bucket.limit, max(1.0, until - now))
        return None

    def remember(self, bucket: Bucket, wait_s: float) -> None:
        if len(self._until) >= self.MAX_ENTRIES:
            now = self._clock()
            self._until = {k: u for k, u in self._until.items() if u > now}
            if len(self._until) >= self.MAX_ENTRIES:
                self._until.clear()  # a flood of distinct subjects: start over
        self._until[(bucket.limit, bucket.subject)] = self._clock() + wait_s


class Limiter:
    def __init__(self, redis: Redis, recent: RecentRefusals | None = None) -> None:
        self._take = redis.register_script(_TAKE)
        self._recent = recent or RecentRefusals()

    async def take(self, *buckets: Bucket) -> Refusal | None:
        """Take from every bucket, or from none and say which limit refused, and for how long."""
        active = [b for b in buckets if b.rate.count > 0]
        if not active:
            return None
        known = self._recent.refusal(active)
        if known is not None:
            metrics.limit_refused(known.limit)
            return known
        args: list[Any] = []
        for bucket in active:
            args += [bucket.cost, bucket.rate.interval_ms, bucket.rate.capacity_ms]
        wait_ms, index = await self._take(
            keys=[keys.limit(b.limit, _subject(b.subject)) for b in active], args=args
        )
        if not int(wait_ms):
            return None
        bucket = active[int(index) - 1]
        metrics.limit_refused(bucket.limit)
        self._recent.remember(bucket, int(wait_ms) / 1000)
        return Refusal(bucket.limit, max(1.0, int(wait_ms) / 1000))


def _subject(subject: str) -> str:
    # Origins and proxy headers come from the client: keep their keys short whatever they send.
    if len(subject) <= 64:
        return subject
    return "h:" + hashlib.sha256(subject.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class AbusePolicy:
    """The shipped limits, from settings (docs/configuration.md, "Abuse limits")."""

    source_connections: Rate = Rate(120, 60, burst=60)
    source_conversations: Rate = Rate(60, 3600, burst=10)
    origin_conversations: Rate = Rate(600, 60)
    source_messages: Rate = Rate(120, 60, burst=30)
    source_uploads: Rate = Rate(30, 3600)
    source_upload_kb: Rate = Rate(100 * 1024, 3600)
    session_uploads: Rate = Rate(10, 3600)
    session_upload_kb: Rate = Rate(30 * 1024, 3600)
    source_guest_handoffs: Rate = Rate(10, 3600)
    guest_handoffs: Rate = Rate(10, 60, burst=5)

    @classmethod
    def from_settings(cls, s: Any) -> AbusePolicy:
        return cls(
            source_connections=Rate(s.source_connections_per_minute, 60, burst=60),
            source_conversations=Rate(
                s.source_conversations_per_hour, 3600, burst=s.source_conversations_burst
            ),
            origin_conversations=Rate(s.origin_conversations_per_minute, 60),
            source_messages=Rate(s.source_messages_per_minute, 60, burst=s.source_messages_burst),
            source_uploads=Rate(s.source_uploads_per_hour, 3600),
            source_upload_kb=Rate(s.source_upload_mb_per_hour * 1024, 3600),
            session_uploads=Rate(s.session_uploads_per_hour, 3600),
            session_upload_kb=Rate(s.session_upload_mb_per_hour * 1024, 3600),
            source_guest_handoffs=Rate(s.source_guest_handoffs_per_hour, 3600),
            guest_handoffs=Rate(s.guest_handoffs_per_minute, 60, burst=s.guest_handoffs_burst),
        )


class AbuseLimits:
    """What one source, origin or conversation may start now (None: go ahead)."""

    def __init__(self, limiter: Limiter, policy: AbusePolicy) -> None:
        self._limiter = limiter
        self._policy = policy

    async def connection(self, source: str) -> Refusal | None:
        """A widget socket opens (a page load, a reconnect): checked before the WebSocket
        handshake, so a client that floods them is turned away for the cost of a refusal."""
        return await self._limiter.take(
            Bucket("source_connections", source, self._policy.source_connections)
        )

    async def new_conversation(self, source: str, origin: str) -> Refusal | None:
        p = self._policy
        return await self._limiter.take(
            Bucket("source_conversations", source, p.source_conversations),
            Bucket("origin_conversations", origin or "none", p.origin_conversations),
        )

    async def message(self, source: str) -> Refusal | None:
        return await self._limiter.take(
            Bucket("source_messages", source, self._policy.source_messages)
        )

    async def upload(self, source: str, conversation_id: str, size: int) -> Refusal | None:
        p, kb = self._policy, max(1.0, size / 1024)
        return await self._limiter.take(
            Bucket("session_uploads", conversation_id, p.session_uploads),
            Bucket("session_upload_bytes", conversation_id, p.session_upload_kb, kb),
            Bucket("source_uploads", source, p.source_uploads),
            Bucket("source_upload_bytes", source, p.source_upload_kb, kb),
        )

    async def guest_handoff(self, source: str) -> Refusal | None:
        """A customer who is not signed in asks for a person: per source, and for all guests
        together, so a flood of them cannot hold up signed-in customers' threads."""
        p = self._policy
        return await self._limiter.take(
            Bucket("source_guest_handoffs", source, p.source_guest_handoffs),
            Bucket("guest_handoffs", "all", p.guest_handoffs),
        )
