"""Topic spikes: handoffs and abstentions about one topic, counted over a sliding hour and
compared with the day before and with the hour's whole volume; an alert (a TopicSpikeAlert job)
goes to a channel of the desk.

A topic is what the messages are about (bridge/learning/topics.py): a confident intent, or a
group of similar messages. Explicit requests for a person are counted apart and never alert:
asking for a person is what the product is for, not a sign that something broke.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from bridge import keys
from bridge.learning import topics
from bridge.models import HandoffReason
from bridge.outbox.jobs import SpikeExample, TopicSpikeAlert
from bridge.outbox.outbox import Outbox

HOUR_MS = 3600 * 1000
# The trailing day is the 24 hours before the last hour.
WINDOW_MS = 25 * HOUR_MS
EXAMPLES = 5
# The topic of messages with no word that can name a subject ("??", "hmm").
UNCLEAR = "unclear"

# Adds one event to its topic and to the volume, and answers with the counts needed to judge
# it, in one step: the topic's last hour, its trailing day, and the volume's last hour.
_COUNT = """
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1] - ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('SADD', KEYS[2], ARGV[4])
redis.call('ZADD', KEYS[3], ARGV[1], ARGV[6])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[1] - ARGV[3])
redis.call('PEXPIRE', KEYS[3], ARGV[3])
local hour = redis.call('ZCOUNT', KEYS[1], '(' .. (ARGV[1] - ARGV[5]), '+inf')
local before = redis.call('ZCOUNT', KEYS[1], '-inf', ARGV[1] - ARGV[5])
local volume = redis.call('ZCOUNT', KEYS[3], '(' .. (ARGV[1] - ARGV[5]), '+inf')
return {hour, before, volume}
"""

# Counts an explicit request for a person (a token, no words), for the record.
_PERSON = """
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1] - ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
"""


@dataclass(frozen=True)
class SpikeRule:
    channel: str  # Slack channel ID; empty: counting only, no alerts
    multiple: float = 3.0
    min_count: int = 5
    # The bar rises with volume: a topic must also be this share of the hour's handoffs and
    # abstentions (5 messages out of 20 is news; 5 out of 2,000 is noise).
    min_share: float = 0.1

    def is_spike(self, last_hour: int, trailing_day: int, volume_last_hour: int = 0) -> bool:
        hourly_rate = trailing_day / 24
        return (
            last_hour >= self.min_count
            and last_hour >= self.multiple * hourly_rate
            and last_hour >= self.min_share * volume_last_hour
        )


class Spikes:
    def __init__(self, redis: Redis, outbox: Outbox, rule: SpikeRule) -> None:
        self._redis = redis
        self._outbox = outbox
        self._rule = rule
        self._count = redis.register_script(_COUNT)
        self._person = redis.register_script(_PERSON)
        self._assign = redis.register_script(topics.ASSIGN_LUA)

    async def count_turn(
        self,
        conversation_id: str,
        text: str,
        intent: str,
        confidence: float,
        outcome: str,
        reason: str,
        now_ms: int,
    ) -> bool:
        """Count a handoff or abstention towards its topic; True when an alert was queued."""
        if outcome == "handoff" and reason == HandoffReason.EXPLICIT_REQUEST:
            await self._person(
                keys=[keys.PERSON_REQUESTS], args=[now_ms, secrets.token_hex(8), WINDOW_MS]
            )
            return False
        topic = await self.topic_of(text, intent, confidence, now_ms)
        return await self.count(topic, conversation_id, text, outcome, now_ms)

    async def topic_of(self, text: str, intent: str, confidence: float, now_ms: int) -> str:
        if topics.is_subject_intent(intent, confidence):
            return f"intent:{intent}"
        words = topics.features(text)
        if not words:
            return UNCLEAR
        group: Any = await self._assign(
            keys=[keys.SPIKE_GROUPS],
            args=[
                now_ms,
                WINDOW_MS,
                topics.SIMILAR,
                topics.MAX_GROUPS,
                topics.GROUP_WORDS,
                secrets.token_hex(6),
                json.dumps(words),
            ],
        )
        return f"text:{group.decode() if isinstance(group, bytes) else group}"

    async def count(
        self, topic: str, conversation_id: str, text: str, outcome: str, now_ms: int
    ) -> bool:
        """Count a handoff or abstention about `topic`; True when an alert was queued."""
        event = json.dumps(
            {"c": conversation_id, "t": text[:300], "o": outcome, "id": secrets.token_hex(4)}
        )
        counts: Any = await self._count(
            keys=[keys.spike_events(topic), keys.SPIKE_TOPICS, keys.SPIKE_VOLUME],
            args=[now_ms, event, WINDOW_MS, topic, HOUR_MS, secrets.token_hex(8)],
        )
        last_hour, trailing_day, volume = int(counts[0]), int(counts[1]), int(counts[2])
        if not self._rule.channel or not self._rule.is_spike(last_hour, trailing_day, volume):
            return False
        recent: Any = await self._redis.zrevrangebyscore(
            keys.spike_events(topic), "+inf", now_ms - HOUR_MS, start=0, num=EXAMPLES
        )
        examples = tuple(
            SpikeExample(str(e["c"]), str(e["t"]), str(e["o"])) for e in map(json.loads, recent)
        )
        alert = TopicSpikeAlert(
            self._rule.channel,
            _name(topic, [e.text for e in examples]),
            last_hour,
            trailing_day / 24,
            examples,
        )
        # At most one alert per topic an hour, however many replicas count.
        return await self._outbox.enqueue_once(keys.spike_alerted(topic), HOUR_MS, alert)


def _name(topic: str, examples: list[str]) -> str:
    """What the alert calls the topic: the intent, or a group's commonest words."""
    if topic.startswith("intent:"):
        return topic.removeprefix("intent:")
    if topic.startswith("text:"):
        return topics.label(examples)
    return topic


async def forget_conversation(redis: Redis, conversation_id: str) -> int:
    """`make forget`: remove the conversation's events (its words) from every topic's history;
    answers how many went. The topics are those listed in SPIKE_TOPICS and any other history
    still in Redis (the list may have lost one)."""
    topics: Any = await redis.smembers(keys.SPIKE_TOPICS)
    histories = {keys.spike_events(str(topic)) for topic in topics}
    async for key in redis.scan_iter(match=keys.spike_events("*"), count=1000, _type="zset"):
        histories.add(str(key))
    removed = 0
    for history in sorted(histories):
        mine = []
        async for member, _ in redis.zscan_iter(history, count=500):
            try:
                event = json.loads(member)
            except ValueError:
                continue
            if isinstance(event, dict) and event.get("c") == conversation_id:
                mine.append(member)
        for start in range(0, len(mine), 500):
            removed += int(await redis.zrem(history, *mine[start : start + 500]))
    return removed
