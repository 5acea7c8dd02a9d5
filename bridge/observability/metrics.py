"""Prometheus metrics, one registry per process; Prometheus scrapes every replica separately.

Counters and histograms are recorded where things happen (router, senders, Rasa client); queue
depths are read from Redis when /metrics is scraped, so every replica reports the same shared
queues (aggregate them with max(), not sum()).
"""

from __future__ import annotations

from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from bridge import keys

CONTENT_TYPE = CONTENT_TYPE_LATEST
# Staff answer in seconds to hours; conversations last minutes to days.
_HUMAN_BUCKETS = (10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 43200, 86400)
_RASA_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20)

MESSAGES = Counter(
    "bridge_messages",
    "Messages accepted from (in) or handed to (out) a platform.",
    ["channel", "direction"],
)
HANDOFFS = Counter("bridge_handoffs", "Conversations handed to a person.", ["reason"])
FIRST_HUMAN_REPLY = Histogram(
    "bridge_time_to_first_human_reply_seconds",
    "From the handoff to the first staff reply in the thread.",
    buckets=_HUMAN_BUCKETS,
)
TIME_TO_CLOSE = Histogram(
    "bridge_time_to_close_seconds",
    "From a conversation's first message to its close (closed explicitly or gone idle).",
    ["handled_by", "how"],
    buckets=_HUMAN_BUCKETS,
)
ENDED = Counter(
    "bridge_conversations_ended",
    "Conversations that ended; handled_by=bot means no person was involved.",
    ["handled_by", "how"],
)
SATISFACTION = Counter(
    "bridge_satisfaction_answers", "Answers to the satisfaction question.", ["channel", "answer"]
)
DELIVERY_FAILURES = Counter(
    "bridge_delivery_failures",
    "Outbound messages moved to the dead-letter stream.",
    ["channel", "reason"],
)
DELIVERY_RETRIES = Counter(
    "bridge_delivery_retries", "Delivery attempts that will be retried.", ["channel"]
)
RASA_LATENCY = Histogram(
    "bridge_rasa_request_seconds",
    "Time for Rasa to answer one customer message.",
    ["outcome"],
    buckets=_RASA_BUCKETS,
)
QUEUE_LENGTH = Gauge("bridge_queue_length", "Entries in an outbound stream.", ["stream"])
QUEUE_PENDING = Gauge(
    "bridge_queue_pending", "Entries read by a sender but not yet acknowledged.", ["stream"]
)

GC_FREEZE_TICKS = Counter(
    "bridge_gc_freeze_ticks", "Young-object collections followed by a freeze (gc_tuning)."
)
GC_FULL_COLLECTIONS = Counter(
    "bridge_gc_full_collections", "Full garbage collections (unfreeze, collect, freeze)."
)
GC_FULL_SECONDS = Gauge("bridge_gc_last_full_seconds", "How long the last full collection took.")

# Storage, refreshed every few seconds by each replica (bridge/store/stores.py: Store.upkeep);
# every replica reports the same shared values (aggregate with max()). docs/deployment.md says
# what the alerts on them (deploy/prometheus-rules.yml) ask of the operator.
FILES_BYTES = Gauge(
    "bridge_files_bytes", "Bytes held by the customers' and staff's files that have not expired."
)
FILES_MAX_BYTES = Gauge(
    "bridge_files_max_bytes", "The cap on those bytes (FILES_MAX_MB); uploads beyond it get 507."
)
REDIS_USED_MEMORY = Gauge(
    "bridge_redis_used_memory_bytes", "Memory the bridge's Redis uses (INFO memory used_memory)."
)
LIMIT_REFUSALS = Counter(
    "bridge_limit_refusals", "Requests refused by an abuse limit (docs/abuse.md).", ["limit"]
)
REDIS_MAXMEMORY = Gauge(
    "bridge_redis_maxmemory_bytes",
    "The bridge's Redis maxmemory (0: no cap); writes fail beyond it (noeviction).",
)

QUEUES = (keys.SLACK_OUTBOX, keys.TELEGRAM_OUTBOX, keys.DEAD_LETTERS)


def channel_of(stream: str) -> str:
    """`bridge:out:telegram` (or its partition `bridge:{p3}:out:telegram`) -> `telegram`."""
    parts = [part for part in stream.split(":") if not part.startswith("{")]  # no hash tag
    return parts[2] if len(parts) >= 3 else stream


def message(channel: str, direction: str) -> None:
    MESSAGES.labels(channel=channel, direction=direction).inc()


def handoff(reason: str) -> None:
    HANDOFFS.labels(reason=reason).inc()


def first_human_reply(seconds: float) -> None:
    FIRST_HUMAN_REPLY.observe(max(seconds, 0.0))


def conversation_ended(handled_by: str, how: str, seconds: float | None) -> None:
    ENDED.labels(handled_by=handled_by, how=how).inc()
    if seconds is not None:
        TIME_TO_CLOSE.labels(handled_by=handled_by, how=how).observe(max(seconds, 0.0))


def satisfaction(channel: str, answer: str) -> None:
    """Count one answer to "how did we do?" (call once per answer; answer: e.g. good/bad)."""
    SATISFACTION.labels(channel=channel, answer=answer).inc()


def delivery_failed(stream: str, reason: str) -> None:
    DELIVERY_FAILURES.labels(channel=channel_of(stream), reason=reason).inc()


def delivery_retried(stream: str) -> None:
    DELIVERY_RETRIES.labels(channel=channel_of(stream)).inc()


def gc_tick() -> None:
    GC_FREEZE_TICKS.inc()


def gc_full(seconds: float) -> None:
    GC_FULL_COLLECTIONS.inc()
    GC_FULL_SECONDS.set(seconds)


def rasa_answered(seconds: float, ok: bool) -> None:
    RASA_LATENCY.labels(outcome="ok" if ok else "error").observe(seconds)


async def refresh_queue_depths(redis: Redis) -> None:
    """Read stream length and pending count of every outbound stream (at scrape time); a
    platform's partitions are summed under its stream's name."""
    parts = {
        stream: keys.outbox_streams(stream) if stream != keys.DEAD_LETTERS else [stream]
        for stream in QUEUES
    }
    async with redis.pipeline(transaction=False) as pipe:
        for streams in parts.values():
            for stream in streams:
                pipe.xlen(stream)
                pipe.xpending(stream, keys.SENDER_GROUP)
        replies: list[Any] = await pipe.execute(raise_on_error=False)
    index = 0
    for name, streams in parts.items():
        length_total = pending_total = 0
        for _ in streams:
            length, pending = replies[index], replies[index + 1]
            index += 2
            length_total += length if isinstance(length, int) else 0
            # The dead-letter stream has no consumer group: NOGROUP there is expected.
            if isinstance(pending, dict) and not isinstance(pending, ResponseError):
                pending_total += int(pending.get("pending", 0))
        QUEUE_LENGTH.labels(stream=name).set(length_total)
        QUEUE_PENDING.labels(stream=name).set(pending_total)


def limit_refused(limit: str) -> None:
    LIMIT_REFUSALS.labels(limit).inc()


def files_held(held_bytes: int, max_bytes: int) -> None:
    FILES_BYTES.set(held_bytes)
    FILES_MAX_BYTES.set(max_bytes)


async def refresh_redis_memory(redis: Redis) -> None:
    """Read used_memory and maxmemory from INFO memory."""
    info: Any = await redis.info("memory")
    REDIS_USED_MEMORY.set(int(info.get("used_memory", 0)))
    REDIS_MAXMEMORY.set(int(info.get("maxmemory", 0)))


def render() -> bytes:
    return generate_latest(REGISTRY)
