"""The outbound streams keep only what is still to be delivered: a delivered (or dead-lettered)
entry is deleted as it is acknowledged, an entry read and not acknowledged by a sender that was
killed is still there for the next one, and what was never delivered goes at the retention
time (bridge/outbox/retention.py). Against the stack's Redis server, in a database of its own,
with a sender that stands in for a platform."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from bridge import keys
from bridge.models import Channel, Message, Role
from bridge.outbox import retention
from bridge.outbox.delivery import Delivery, Joined, Undeliverable
from bridge.outbox.drain import StreamSender
from bridge.outbox.jobs import Job, SendToCustomer, encode
from bridge.outbox.outbox import Outbox
from devstack.stack import Stack
from tests.support import eventually

REDIS_DB = 2
CONVERSATION = "tg-4242"
STREAM = keys.telegram_outbox(CONVERSATION)
HOUR_MS = 3600 * 1000


class Platform:
    """Takes each job's text; refuses "refuse"; never answers the first "hang" (the process
    is killed meanwhile)."""

    def __init__(self, hang: bool = False) -> None:
        self.got: list[str] = []
        self.unsure: list[str] = []
        self.hanging = asyncio.Event()
        self._hang = hang

    async def __call__(self, job: Job | Joined, delivery: Delivery) -> None:
        assert isinstance(job, SendToCustomer)
        text = job.message.text
        if text == "hang" and self._hang:
            self.hanging.set()
            await asyncio.Event().wait()
        if text == "refuse":
            raise Undeliverable("blocked by the user")
        if delivery.unsure:
            self.unsure.append(text)
        self.got.append(text)


def job(text: str) -> SendToCustomer:
    return SendToCustomer(CONVERSATION, Channel.TELEGRAM, Message(Role.BOT, text))


def sender(db: Redis, consumer: str, platform: Platform) -> StreamSender:
    return StreamSender(db, Outbox(db), STREAM, consumer, platform, max_attempts=3)


async def ids(db: Redis) -> list[str]:
    entries: Any = await db.xrange(STREAM)
    return [str(entry_id) for entry_id, _ in entries]


async def pending(db: Redis, stream: str = STREAM) -> int:
    summary: Any = await db.xpending(stream, keys.SENDER_GROUP)
    return int(summary["pending"])


def expired(queue: str) -> float:
    return REGISTRY.get_sample_value("bridge_queue_entries_expired_total", {"queue": queue}) or 0


@pytest.fixture
async def db(stack: Stack) -> AsyncIterator[Redis]:
    redis = Redis.from_url(
        stack.redis_url.rsplit("/", 1)[0] + f"/{REDIS_DB}", decode_responses=True
    )
    await redis.flushdb()
    yield redis
    await redis.flushdb()
    await redis.aclose()


async def test_delivered_entries_leave_the_stream_and_a_killed_sender_loses_none(
    db: Redis,
) -> None:
    texts = ["one", "refuse", "two", "hang", "three"]
    await Outbox(db).enqueue(*(job(t) for t in texts))
    queued = await ids(db)

    first = Platform(hang=True)
    task = asyncio.create_task(sender(db, "replica-a", first).run())
    await asyncio.wait_for(first.hanging.wait(), 10)
    # Delivered and refused: gone (the refused one is a dead letter). The one in progress and
    # the one behind it: still there, the first pending in the sender's group.
    assert first.got == ["one", "two"]
    assert await ids(db) == queued[3:]
    assert await pending(db) >= 1
    dead_letters: Any = await db.xrange(keys.DEAD_LETTERS)
    [dead] = dead_letters
    assert dead[1]["text"] == "refuse" and dead[1]["stream"] == STREAM

    task.cancel()  # killed mid-delivery: "hang" was never acknowledged
    with pytest.raises(asyncio.CancelledError):
        await task
    second = Platform()
    task = asyncio.create_task(sender(db, "replica-b", second).run())
    try:
        await eventually(lambda: ids(db), lambda left: left == [], what="the stream emptied")
    finally:
        task.cancel()
    # Nothing lost, nothing twice, in order; the interrupted one is looked up first.
    assert second.got == ["hang", "three"] and second.unsure == ["hang"]
    assert await pending(db) == 0
    info: Any = await db.xinfo_stream(STREAM)
    assert info["length"] == 0 and info["entries-added"] == len(texts)


async def test_what_outlives_the_retention_time_is_trimmed_even_undelivered(db: Redis) -> None:
    seconds, _ = await db.time()
    now = int(seconds) * 1000
    old = now - 2 * HOUR_MS
    await db.xgroup_create(STREAM, keys.SENDER_GROUP, id="0", mkstream=True)
    fields: Any = encode(job("too old"))
    await db.xadd(STREAM, fields, id=f"{old}-0")
    await db.xadd(STREAM, {**fields, "text": "too old too"}, id=f"{old}-1")
    await db.xadd(STREAM, encode(job("recent")))  # type: ignore[arg-type]
    # A sender read the oldest and died: it is pending.
    await db.xreadgroup(keys.SENDER_GROUP, "replica-a", {STREAM: ">"}, count=1)
    await db.xadd(keys.DEAD_LETTERS, {**fields, "reason": "refused"}, id=f"{old}-0")
    await db.xadd(keys.DEAD_LETTERS, {**fields, "reason": "refused"})
    await db.zadd(keys.REVIEW, {"w-long-ago": old, "w-lately": now})
    before = expired("telegram"), expired("dead")

    trimmed = await retention.trim(db, retention_s=3600)

    assert trimmed == {STREAM: 2, keys.DEAD_LETTERS: 1, keys.REVIEW: 1}
    assert (expired("telegram"), expired("dead")) == (before[0] + 2, before[1] + 1)
    assert await db.xlen(STREAM) == 1 and await db.xlen(keys.DEAD_LETTERS) == 1
    assert await db.zrange(keys.REVIEW, 0, -1) == ["w-lately"]
    assert await retention.trim(db, retention_s=0) == {}  # 0: keep everything

    # The pending one's sender comes back: the trimmed entry reads back empty and is let go.
    platform = Platform()
    task = asyncio.create_task(sender(db, "replica-a", platform).run())
    try:
        await eventually(lambda: db.xlen(STREAM), lambda n: n == 0, what="the recent one sent")
        await eventually(lambda: pending(db), lambda n: n == 0, what="the trimmed one let go")
    finally:
        task.cancel()
    assert platform.got == ["recent"]
