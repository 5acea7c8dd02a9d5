"""Topic spikes: handoffs and abstentions about one intent, counted over a sliding hour and
compared with the day before; an alert (a TopicSpikeAlert job) goes to a channel of the desk."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from bridge import keys
from bridge.outbox.jobs import SpikeExample, TopicSpikeAlert
from bridge.outbox.outbox import Outbox

HOUR_MS = 3600 * 1000
# The trailing day is the 24 hours before the last hour.
WINDOW_MS = 25 * HOUR_MS
EXAMPLES = 5

# Adds one event and answers with the counts needed to judge it, in one step.
_COUNT = """
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1] - ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('SADD', KEYS[2], ARGV[4])
local hour = redis.call('ZCOUNT', KEYS[1], '(' .. (ARGV[1] - ARGV[5]), '+inf')
local before = redis.call('ZCOUNT', KEYS[1], '-inf', ARGV[1] - ARGV[5])
return {hour, before}
"""


@dataclass(frozen=True)
class SpikeRule:
    channel: str  # Slack channel ID; empty: counting only, no alerts
    multiple: float = 3.0
    min_count: int = 5

    def is_spike(self, last_hour: int, trailing_day: int) -> bool:
        hourly_rate = trailing_day / 24
        return last_hour >= self.min_count and last_hour >= self.multiple * hourly_rate


class Spikes:
    def __init__(self, redis: Redis, outbox: Outbox, rule: SpikeRule) -> None:
        self._redis = redis
        self._outbox = outbox
        self._rule = rule
        self._count = redis.register_script(_COUNT)

    async def count(
        self, topic: str, conversation_id: str, text: str, outcome: str, now_ms: int
    ) -> bool:
        """Count a handoff or abstention about `topic`; True when an alert was queued."""
        event = json.dumps(
            {"c": conversation_id, "t": text[:300], "o": outcome, "id": secrets.token_hex(4)}
        )
        counts: Any = await self._count(
            keys=[keys.spike_events(topic), keys.SPIKE_TOPICS],
            args=[now_ms, event, WINDOW_MS, topic, HOUR_MS],
        )
        last_hour, trailing_day = int(counts[0]), int(counts[1])
        if not self._rule.channel or not self._rule.is_spike(last_hour, trailing_day):
            return False
        recent: Any = await self._redis.zrevrangebyscore(
            keys.spike_events(topic), "+inf", now_ms - HOUR_MS, start=0, num=EXAMPLES
        )
        examples = tuple(
            SpikeExample(str(e["c"]), str(e["t"]), str(e["o"])) for e in map(json.loads, recent)
        )
        alert = TopicSpikeAlert(self._rule.channel, topic, last_hour, trailing_day / 24, examples)
        # At most one alert per topic an hour, however many replicas count.
        return await self._outbox.enqueue_once(keys.spike_alerted(topic), HOUR_MS, alert)
