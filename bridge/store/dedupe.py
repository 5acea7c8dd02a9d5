"""De-duplication: a platform event (or a side effect of one) takes effect once, however often
it is delivered."""

from __future__ import annotations

from redis.asyncio import Redis

from bridge import keys

# Sources of once keys besides the customer channels' own ("widget", "telegram").
STAFF_EVENTS = "staff"  # events from the staff desk (its event ids)
DESK_EVENTS = "desk"  # what the bridge tells a customer about their handoff
QUOTA_NOTICES = "quota"  # "slow down", once per customer per window


def event_key(source: str, event_id: str) -> str:
    """The once key of an event: `source` is a customer channel or one of the sources above;
    `event_id` is unique within it."""
    return keys.seen(source, event_id)


class Dedupe:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def first_time(self, key: str) -> bool:
        """True once per `key` (an `event_key`): makes a redelivered event's side effect a no-op."""
        return bool(await self._redis.set(key, "1", nx=True, ex=keys.DEDUPE_TTL_S))
