"""Topic spikes: an alert with examples in a Slack channel, once per topic per hour."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import pytest
from redis.asyncio import Redis
from slack_sdk.web.async_client import AsyncWebClient

from bridge import keys
from bridge.learning.spikes import HOUR_MS, SpikeRule, Spikes
from bridge.outbox.jobs import TopicSpikeAlert, decode
from bridge.outbox.outbox import Outbox
from bridge.platforms.slack.render import spike_alert
from devstack.processes import Service, free_port
from devstack.stack import Stack
from tests.desk.helpers import WidgetCustomer
from tests.ops.conftest import bridge_env
from tests.support import eventually

REDIS_DB = 9
OFF_TOPIC = "is it going to rain in Lisbon tomorrow?"


@pytest.fixture
async def clean_db(stack: Stack) -> AsyncIterator[Redis]:
    redis = Redis.from_url(
        stack.redis_url.rsplit("/", 1)[0] + f"/{REDIS_DB}", decode_responses=True
    )
    await redis.flushdb()
    yield redis
    await redis.flushdb()
    await redis.aclose()


async def test_a_spike_of_misses_alerts_the_team_once(
    stack: Stack, extra_bridge: Callable[[dict[str, str]], Service], clean_db: Redis
) -> None:
    slack = AsyncWebClient(token="xoxb-local-bot", base_url=f"{stack.slack_url}/api/")
    alerts = (await slack.conversations_create(name=f"alerts-{time.time_ns()}"))["channel"]["id"]
    port = free_port()
    env = bridge_env(stack, REDIS_DB, port) | {
        "SPIKE_ALERT_CHANNEL": alerts,
        "SPIKE_MIN_COUNT": "3",
    }
    await asyncio.to_thread(extra_bridge(env).start)
    url = f"http://127.0.0.1:{port}"

    async def posts() -> list[str]:
        history = await slack.conversations_history(channel=alerts)
        return [m.get("text", "") for m in history["messages"]]

    for n in range(4):
        async with WidgetCustomer(url) as customer:
            await customer.say(OFF_TOPIC)
            await customer.wait_for(lambda m: "can't help" in m.get("text", ""), "an abstention")
        if n == 1:
            assert await posts() == []  # two are not a spike
    alert = (await eventually(posts, lambda ps: len(ps) >= 1, what="the spike alert"))[0]
    assert "Topic spike" in alert and "3 handoffs or abstentions in the last hour" in alert
    assert "rain in Lisbon tomorrow?" in alert
    # The fourth miss in the same hour does not post a second alert.
    assert len(await posts()) == 1


async def test_a_topic_that_is_always_busy_is_not_a_spike(clean_db: Redis) -> None:
    spikes = Spikes(clean_db, Outbox(clean_db), SpikeRule("C0ALERTS", multiple=3.0, min_count=5))
    now = int(time.time() * 1000)
    # Two an hour all through the day before: the usual rate.
    for hour in range(24, 0, -1):  # oldest first, as they happened
        for n in range(2):
            await spikes.count(
                "delivery_period", f"w-{hour}-{n}", "late?", "abstain", now - hour * HOUR_MS - n
            )
    alerted = [
        await spikes.count("delivery_period", f"w-now-{n}", "late?", "abstain", now + n)
        for n in range(6)
    ]
    # 5 in an hour is not 3x the usual 2; the 6th is.
    assert alerted == [False] * 5 + [True]
    jobs = [decode(fields) for _, fields in await clean_db.xrange(keys.SLACK_OUTBOX)]
    assert len(jobs) == 1 and isinstance(jobs[0], TopicSpikeAlert)
    assert jobs[0].channel == "C0ALERTS"
    assert "usual: 2.0 an hour" in spike_alert(jobs[0])
