"""Nothing the bridge queues outlives the retention time (CONVERSATION_RETENTION_S).

A delivered entry leaves its stream as it is acknowledged (`Outbox.ack`, `dead_letter`). What
is never delivered (a platform away for longer than the retention time, a dead letter nobody
looked at) is trimmed here by the time in its id, `XTRIM MINID`, with Redis's own clock (the
clock that named the entries). So is the review index, the one sorted set of conversations
that nothing else prunes: it would otherwise grow with every visitor the assistant could not
help, long after their conversation expired. Every replica runs `upkeep`; a trim is idempotent.
Retention 0 keeps everything (as it keeps the conversations).
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from prometheus_client import Counter
from redis.asyncio import Redis

from bridge import keys
from bridge.observability import metrics
from bridge.outbox.jobs import Fields

log = logging.getLogger(__name__)

UPKEEP_INTERVAL_S = 60.0

EXPIRED = Counter(
    "bridge_queue_entries_expired",
    "Outbound jobs and dead letters deleted unsent for being older than the retention time "
    "(CONVERSATION_RETENTION_S), by queue (slack, telegram, dead).",
    ["queue"],
)

# Sorted sets of conversation ids scored by a time (ms) that no other code prunes.
TIME_INDEXES = (keys.REVIEW,)


def streams() -> list[str]:
    """Every stream the bridge queues jobs on, and the dead letters."""
    return [
        *keys.outbox_streams(keys.SLACK_OUTBOX),
        *keys.outbox_streams(keys.TELEGRAM_OUTBOX),
        keys.DEAD_LETTERS,
    ]


async def trim(redis: Redis, retention_s: int) -> dict[str, int]:
    """Delete every stream entry (and index member) older than `retention_s`; answers how
    many went, by key (only keys that lost something)."""
    if retention_s <= 0:
        return {}
    seconds, micros = await redis.time()
    cutoff_ms = int(seconds) * 1000 + int(micros) // 1000 - retention_s * 1000
    queues = streams()
    async with redis.pipeline(transaction=False) as pipe:
        for stream in queues:
            pipe.xtrim(stream, minid=f"{cutoff_ms}-0", approximate=False)
        for index in TIME_INDEXES:
            pipe.zremrangebyscore(index, "-inf", f"({cutoff_ms}")
        counts: list[Any] = await pipe.execute()
    trimmed = {
        key: int(count)
        for key, count in zip([*queues, *TIME_INDEXES], counts, strict=True)
        if count
    }
    for key, count in trimmed.items():
        if key in TIME_INDEXES:
            log.info("%s: %d conversations older than the retention time dropped", key, count)
            continue
        EXPIRED.labels(queue=metrics.channel_of(key)).inc(count)
        # A pending one among them reads back without fields and is acknowledged then
        # (StreamSender._fill, Outbox.discard).
        log.warning(
            "%s: %d entries older than the retention time (%d s) deleted, never delivered",
            key,
            count,
            retention_s,
        )
    return trimmed


def interval_for(retention_s: int) -> float:
    """A tenth of the retention time, at most UPKEEP_INTERVAL_S, at least a second."""
    return max(1.0, min(UPKEEP_INTERVAL_S, retention_s / 10))


async def upkeep(redis: Redis, retention_s: int) -> None:
    """Runs for the life of the process (nothing to do when everything is kept)."""
    if retention_s <= 0:
        return
    while True:
        try:
            await trim(redis, retention_s)
        except Exception as exc:  # a Redis blip only delays the trim
            log.warning("could not trim the queues to the retention time: %s", exc)
        await asyncio.sleep(interval_for(retention_s))


async def erase(redis: Redis, conversation_id: str, page: int = 500) -> dict[str, int]:
    """`make forget`: delete every queued job and dead letter that names the conversation (its
    `conversation` field, or a spike alert quoting it); answers how many went, by stream. One
    pending in a sender reads back without fields and is acknowledged then (Outbox.discard)."""
    deleted: dict[str, int] = {}
    for stream in streams():
        doomed: list[str] = []
        start = "-"
        while True:
            entries: Any = await redis.xrange(stream, min=start, count=page)
            doomed += [entry_id for entry_id, fields in entries if names(fields, conversation_id)]
            if len(entries) < page:
                break
            start = "(" + str(entries[-1][0])
        for first in range(0, len(doomed), page):
            count = int(await redis.xdel(stream, *doomed[first : first + page]))
            deleted[stream] = deleted.get(stream, 0) + count
    return deleted


def names(fields: Fields, conversation_id: str) -> bool:
    """Whether a stream entry is about the conversation (any field naming it)."""
    if fields.get("conversation") == conversation_id:
        return True
    word = re.compile(rf"(?<![\w-]){re.escape(conversation_id)}(?![\w-])")
    return any(word.search(str(value)) for value in fields.values())
