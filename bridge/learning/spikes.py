"""Topic spikes: handoffs and abstentions about one intent, counted over a sliding hour and
compared with the day before; an alert goes to a Slack channel through the outbound stream."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from bridge import keys
from bridge.slack_format import escape

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

# Queues the alert at most once per topic per hour (any number of replicas).
_ALERT_ONCE = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return 0 end
redis.call('XADD', KEYS[2], '*', 'kind', 'channel_post', 'channel', ARGV[2], 'text', ARGV[3])
return 1
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
    def __init__(self, redis: Redis, rule: SpikeRule) -> None:
        self._redis = redis
        self._rule = rule
        self._count = redis.register_script(_COUNT)
        self._alert_once = redis.register_script(_ALERT_ONCE)

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
        text = alert_text(topic, last_hour, trailing_day / 24, [json.loads(r) for r in recent])
        queued = await self._alert_once(
            keys=[keys.spike_alerted(topic), keys.SLACK_OUTBOX],
            args=[HOUR_MS, self._rule.channel, text],
        )
        return bool(queued)


def alert_text(
    topic: str, last_hour: int, hourly_rate: float, examples: list[dict[str, Any]]
) -> str:
    outcomes: dict[str, int] = {}
    for example in examples:
        outcomes[example["o"]] = outcomes.get(example["o"], 0) + 1
    lines = [
        f":chart_with_upwards_trend: *Topic spike: `{escape(topic)}`* — {last_hour} handoffs "
        f"or abstentions in the last hour (usual: {hourly_rate:.1f} an hour).",
        "Recent examples:",
    ]
    for example in examples:
        lines.append(f"> {escape(example['t'])}  _({example['o']}, {escape(example['c'])})_")
    lines.append("Something may be wrong with this product area; `make review` lists them all.")
    return "\n".join(lines)
