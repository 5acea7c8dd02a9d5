"""The staff channel's one post per second, shared by every replica through Redis: a guest's
new thread (docs/abuse.md) gives way to every other post waiting for it, so a flood of
anonymous handoffs cannot hold up signed-in customers or open threads."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from bridge.rate_limits import Limits, PlatformLimiter
from devstack.stack import Stack

CHANNEL = "C0GIVEWAY"


async def test_a_guest_post_waits_until_no_other_post_is_waiting(stack: Stack) -> None:
    redis = Redis.from_url(stack.redis_url.rsplit("/", 1)[0] + "/9", decode_responses=True)
    await redis.flushdb()
    # Two limiters: two replicas sharing the channel's slot.
    one, other = (PlatformLimiter(redis, Limits(slack_post_interval_s=0.3)) for _ in range(2))
    order: list[str] = []

    async def post(limiter: PlatformLimiter, name: str, gives_way: bool) -> None:
        await limiter.slack_post(CHANNEL, gives_way)
        order.append(name)

    await one.slack_post(CHANNEL)  # the slot is taken: whoever comes next must wait
    guests = [asyncio.create_task(post(one, f"guest-{n}", True)) for n in range(2)]
    await redis.ping()  # the guests have asked first
    others = [asyncio.create_task(post(other, f"signed-in-{n}", False)) for n in range(3)]
    await asyncio.wait_for(asyncio.gather(*guests, *others), timeout=30)

    # Every signed-in post went first, though the guests had been waiting longer.
    assert sorted(order[:3]) == ["signed-in-0", "signed-in-1", "signed-in-2"], order
    assert sorted(order[3:]) == ["guest-0", "guest-1"], order
    await redis.aclose()
