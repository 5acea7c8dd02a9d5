"""De-duplication: a platform event (or a side effect of one) takes effect once, however often
it is delivered."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from bridge import keys

# Sources of once keys besides the customer channels' own ("widget", "telegram").
STAFF_EVENTS = "staff"  # events from the staff desk (its event ids)
DESK_EVENTS = "desk"  # what the bridge tells a customer about their handoff
QUOTA_NOTICES = "quota"  # "slow down", once per customer per window


def event_key(source: str, event_id: str, conversation_id: str) -> str:
    """The once key of an event: `source` is a customer channel or one of the sources above;
    `event_id` is unique within it. In the conversation's slot (the conversation's scripts set
    it in the step it guards)."""
    return keys.seen(source, event_id, conversation_id)


class Dedupe:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def first_time(self, key: str) -> bool:
        """True once per `key` (an `event_key`): makes a redelivered event's side effect a no-op."""
        return bool(await self._redis.set(key, "1", nx=True, ex=keys.DEDUPE_TTL_S))


async def forget_markers(redis: Redis, conversation_id: str, entry_ids: set[str]) -> int:
    """`make forget`: delete the once keys of one conversation, and answer how many went.

    Those naming it (a widget's `widget:<conversation>:<client id>`, the desk's
    `desk:<what>:<conversation>:…`, `quota:<conversation>:<window>`), and those whose value is
    one of `entry_ids`, its transcript entries: a customer line's once key keeps the entry it
    created, and a channel's own event ids (Telegram's update ids) do not name the conversation.
    """
    doomed: list[str] = []
    batch: list[str] = []

    async def check(batch: list[str]) -> None:
        # One GET per key (a pipeline): the keys are in many Cluster slots, MGET wants one.
        values: Any = [None] * len(batch)
        if entry_ids:
            async with redis.pipeline(transaction=False) as pipe:
                for key in batch:
                    pipe.get(key)
                values = await pipe.execute()
        doomed.extend(key for key, value in zip(batch, values, strict=True) if value in entry_ids)

    async for key in redis.scan_iter(match=keys.SEEN_PATTERN, count=1000):
        if conversation_id in str(key).split(":"):
            doomed.append(str(key))
        else:
            batch.append(str(key))
            if len(batch) >= 500:
                await check(batch)
                batch = []
    if batch:
        await check(batch)
    deleted = 0
    for start in range(0, len(doomed), 500):
        deleted += int(await redis.delete(*doomed[start : start + 500]))
    return deleted
