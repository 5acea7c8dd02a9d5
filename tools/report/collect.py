"""What the report reads from Redis (every key name from bridge/keys.py), as plain records.

Per conversation: its record (channel, the latest handoff and rating), the timeline's events
(bridge/observability/timeline.py HISTORY: handoffs and closes), its transcript lines and the
assistant's decisions (turns) since the start of the period. Plus the topic-spike counts, which
Redis keeps for 25 hours (bridge/learning/spikes.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

from bridge import keys
from bridge.learning import topics
from bridge.learning.spikes import HOUR_MS
from bridge.observability import timeline

SCAN_BATCH = 500


@dataclass(frozen=True)
class Line:
    """A transcript line: when, who (customer, bot, staff, system), what."""

    at_ms: int
    role: str
    text: str


@dataclass(frozen=True)
class Turn:
    """The assistant's decision on one customer message (bridge/learning/turns.py)."""

    at_ms: int
    text: str
    intent: str
    confidence: float
    outcome: str
    reason: str


@dataclass(frozen=True)
class Event:
    """A timeline event: kind "handoff" (with its reason) or "closed"."""

    kind: str
    at_ms: int
    reason: str = ""


@dataclass(frozen=True)
class Record:
    id: str
    channel: str
    lines: tuple[Line, ...] = ()
    turns: tuple[Turn, ...] = ()
    events: tuple[Event, ...] = ()
    # The latest handoff as the record holds it (for conversations older than the timeline).
    handoff_reason: str = ""
    handoff_at_ms: int = 0


@dataclass(frozen=True)
class SpikeTopic:
    topic: str
    last_hour: int
    last_day: int  # the 25 hours Redis keeps
    examples: tuple[str, ...]
    alerted: bool  # an alert was raised in the last hour


@dataclass(frozen=True)
class Snapshot:
    since_ms: int
    until_ms: int
    conversations: tuple[Record, ...]
    spikes: tuple[SpikeTopic, ...] = field(default=())


def _stream_ms(entry_id: str) -> int:
    return int(str(entry_id).split("-", 1)[0])


def parse_events(raw: str | None) -> tuple[Event, ...]:
    if not raw:
        return ()
    try:
        decoded = json.loads(raw)
    except ValueError:
        return ()
    events = []
    for item in decoded if isinstance(decoded, list) else []:
        if isinstance(item, dict) and item.get("e") in ("handoff", "closed"):
            events.append(Event(str(item["e"]), int(item["at"]), str(item.get("reason", ""))))
    return tuple(events)


def _record(conversation_id: str, data: dict[str, str], log: Any, turns: Any) -> Record:
    return Record(
        id=conversation_id,
        channel=data["channel"],
        lines=tuple(
            Line(_stream_ms(entry_id), f.get("role", ""), f.get("text", "")) for entry_id, f in log
        ),
        turns=tuple(
            Turn(
                int(f.get("at") or _stream_ms(entry_id)),
                f.get("text", ""),
                f.get("intent", ""),
                float(f.get("confidence") or 0),
                f.get("outcome", ""),
                f.get("reason", ""),
            )
            for entry_id, f in turns
        ),
        events=parse_events(data.get(timeline.HISTORY)),
        handoff_reason=data.get("handoff_reason", ""),
        handoff_at_ms=int(data.get("handoff_at") or 0),
    )


def conversation_patterns(probes: int = 256) -> list[tuple[str, str]]:
    """(prefix, SCAN pattern) of every form keys.conversation(id) takes: the name up to the id
    differs per hash slot tag (Redis Cluster), so it is learnt from keys.conversation itself,
    on probe ids of every kind (signed-in and guest), rather than written here."""
    prefixes = set()
    for n in range(probes):
        for probe in (f"w-probe{n}", f"{keys.GUEST_CONVERSATION_PREFIX}probe{n}"):
            key = keys.conversation(probe)
            if key.endswith(probe):
                prefixes.add(key[: -len(probe)])
    return [(prefix, prefix + "*") for prefix in sorted(prefixes)]


async def conversation_ids(redis: Redis) -> list[str]:
    """Every stored conversation: the hashes named keys.conversation(id) (the caller checks
    they have a channel)."""
    found = set()
    for prefix, pattern in conversation_patterns():
        async for key in redis.scan_iter(match=pattern, count=SCAN_BATCH, _type="HASH"):
            name = key.decode() if isinstance(key, bytes) else str(key)
            conversation_id = name[len(prefix) :]
            if conversation_id and keys.conversation(conversation_id) == name:
                found.add(conversation_id)
    return sorted(found)


async def collect(redis: Redis, since_ms: int, until_ms: int) -> Snapshot:
    """Read what the report needs; `redis` must decode responses."""
    records = []
    ids = await conversation_ids(redis)
    for start in range(0, len(ids), 100):
        batch = ids[start : start + 100]
        async with redis.pipeline(transaction=False) as pipe:
            for conversation_id in batch:
                pipe.hgetall(keys.conversation(conversation_id))
                pipe.xrange(keys.transcript(conversation_id), min=str(since_ms), max=str(until_ms))
                pipe.xrange(keys.turns(conversation_id), min=str(since_ms), max=str(until_ms))
            answers = await pipe.execute()
        for n, conversation_id in enumerate(batch):
            data, log, turns = answers[3 * n : 3 * n + 3]
            if data and "channel" in data:  # without a channel: a leftover, not stored
                records.append(_record(conversation_id, data, log, turns))
    return Snapshot(since_ms, until_ms, tuple(records), await _spikes(redis, until_ms))


def topic_name(topic: str, examples: list[str]) -> str:
    """What the spike alert calls a topic: the intent, or a group's commonest words."""
    if topic.startswith("intent:"):
        return topic.removeprefix("intent:")
    if topic.startswith("text:"):
        return topics.label(examples)
    return topic


async def _spikes(redis: Redis, now_ms: int) -> tuple[SpikeTopic, ...]:
    names: Any = await redis.smembers(keys.SPIKE_TOPICS)
    found = []
    for topic in sorted(names):
        async with redis.pipeline(transaction=False) as pipe:
            pipe.zrangebyscore(keys.spike_events(topic), "-inf", "+inf")
            pipe.zcount(keys.spike_events(topic), f"({now_ms - HOUR_MS}", "+inf")
            pipe.exists(keys.spike_alerted(topic))
            events, last_hour, alerted = await pipe.execute()
        if not events:
            continue
        texts = []
        for raw in reversed(events):
            try:
                text = str(json.loads(raw).get("t", ""))
            except ValueError:
                continue
            if text and text not in texts:
                texts.append(text)
        found.append(
            SpikeTopic(
                topic_name(topic, texts),
                int(last_hour),
                len(events),
                tuple(texts[:3]),
                bool(alerted),
            )
        )
    return tuple(found)
