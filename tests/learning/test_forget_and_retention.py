"""Retention (TTL refreshed on activity) and `make forget`, against the stack's real Redis."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import aiohttp
from redis.asyncio import Redis

from bridge import keys
from bridge.models import Channel, Message, Role
from bridge.outbox.jobs import SendToCustomer, TopicSpikeAlert, encode
from bridge.outbox.outbox import Outbox
from devstack.processes import Service, free_port
from devstack.stack import DEFAULT_RETENTION_S, Stack
from tests.desk.helpers import Desk
from tests.learning.conftest import tool
from tests.ops.conftest import bridge_env, scrape, value
from tests.support import TelegramCustomer, eventually

# The database of the bridge started by the queue-trimming test.
TRIM_DB = 3


async def test_conversation_data_expires_unless_the_customer_comes_back(
    stack: Stack, chat_id: int, redis: Redis, rasa_redis: Redis
) -> None:
    conversation = f"tg-{chat_id}"
    customer = TelegramCustomer(stack.telegram_url, chat_id, first_name="Mia")
    await customer.say("hi there")
    await eventually(
        lambda: redis.exists(keys.turns(conversation)), bool, what="the bot's decision recorded"
    )
    for key in (keys.conversation(conversation), keys.transcript(conversation)):
        assert 0 < await redis.ttl(key) <= DEFAULT_RETENTION_S, key
    assert 0 < await rasa_redis.ttl(keys.rasa_tracker(conversation)) <= DEFAULT_RETENTION_S

    # Nearly expired (as after a long silence); the customer writes again: kept for longer.
    await redis.expire(keys.transcript(conversation), 60)
    await customer.say("thanks, bye")
    await eventually(
        lambda: redis.ttl(keys.transcript(conversation)),
        lambda ttl: ttl > 3600,
        what="the retention refreshed by the new message",
    )


async def test_forget_deletes_everything_about_a_customer(
    stack: Stack, chat_id: int, redis: Redis, rasa_redis: Redis
) -> None:
    conversation = f"tg-{chat_id}"
    desk = Desk(stack.slack_url)
    customer = TelegramCustomer(stack.telegram_url, chat_id, first_name="Noor")
    await customer.say("what's the meaning of life?")
    await customer.wait_for(lambda t: "can't help" in t, "an abstention")
    await customer.say("I want to talk to a person")
    thread_ts = await desk.wait_for_thread(conversation)
    await desk.reply(thread_ts, "Hello Noor, how can I help?")
    await customer.wait_for(lambda t: "how can I help" in t, "the staff reply")
    assert await rasa_redis.exists(keys.rasa_tracker(conversation))
    assert await redis.zscore(keys.REVIEW, conversation) is not None

    done = await asyncio.to_thread(tool, stack, "tools.forget", str(chat_id), "--slack")
    assert done.returncode == 0, done.stderr
    report = done.stdout
    assert f"forgot {conversation}" in report
    for expected in (
        keys.conversation(conversation),
        keys.transcript(conversation),
        keys.turns(conversation),
        keys.slack_thread("C0STAFF", thread_ts),
        keys.REVIEW,
        "Rasa tracker",
        f"of Slack thread {thread_ts}",
    ):
        assert expected in report, report

    # Nothing in Redis still names the customer, and Rasa no longer remembers them.
    left = [k async for k in redis.scan_iter(match=f"*:{conversation}")]
    left += [k async for k in redis.scan_iter(match=f"*:{conversation}:*")]
    assert left == [], left
    for index in (keys.REVIEW, keys.activity(conversation), keys.unclaimed(conversation)):
        assert await redis.zscore(index, conversation) is None
    assert not await rasa_redis.exists(keys.rasa_tracker(conversation))
    again = await asyncio.to_thread(tool, stack, "tools.forget", conversation)
    assert f"nothing found about {conversation}" in again.stdout
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{stack.rasa_url}/conversations/{conversation}/tracker") as response,
    ):
        events = (await response.json()).get("events") or []
    assert not any(e.get("event") == "user" for e in events), events
    # The bridge's posts in the Slack thread are gone (the card and the transcript).
    assert all(m["ts"] != thread_ts for m in await desk.top_level())


async def test_the_bridge_trims_its_queues_to_the_retention_time(
    stack: Stack, extra_bridge: Callable[[dict[str, str]], Service]
) -> None:
    redis = Redis.from_url(stack.redis_url.rsplit("/", 1)[0] + f"/{TRIM_DB}", decode_responses=True)
    await redis.flushdb()
    desk = Desk(stack.slack_url)
    alerts = (await desk.person.conversations_create(name=f"trim-{time.time_ns()}"))["channel"]
    # This bridge has no Telegram: nothing drains the Telegram queue, as when Telegram is away.
    stranded = keys.telegram_outbox("tg-1")
    seconds, _ = await redis.time()
    hour_ago = int(seconds) * 1000 - 3600 * 1000
    for text, entry_id in (("an hour old", f"{hour_ago}-0"), ("recent", "*")):
        fields: Any = encode(SendToCustomer("tg-1", Channel.TELEGRAM, Message(Role.BOT, text)))
        await redis.xadd(stranded, fields, id=entry_id)
    await Outbox(redis).enqueue(TopicSpikeAlert(alerts["id"], "trimming", 5, 0.5))

    port = free_port()
    env = bridge_env(stack, TRIM_DB, port) | {"CONVERSATION_RETENTION_S": "60"}
    await asyncio.to_thread(extra_bridge(env).start)
    try:
        # Delivered: deleted from its stream as it is acknowledged.
        async def posted() -> int:
            history = await desk.reader.conversations_history(channel=alerts["id"])
            return len(history["messages"])

        await eventually(posted, lambda n: n == 1, what="the alert posted")
        await eventually(lambda: redis.xlen(keys.SLACK_OUTBOX), lambda n: n == 0, what="gone")
        # Never delivered and older than the retention time: trimmed (and counted); the
        # recent one waits on.
        await eventually(lambda: redis.xlen(stranded), lambda n: n == 1, what="the old one gone")
        entries: Any = await redis.xrange(stranded)
        [(_, kept)] = entries
        assert kept["text"] == "recent"
        samples = await scrape(f"http://127.0.0.1:{port}")
        assert value(samples, "bridge_queue_entries_expired_total", queue="telegram") == 1
    finally:
        await redis.flushdb()
        await redis.aclose()
