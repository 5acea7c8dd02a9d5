"""Topic spikes: an alert with examples in a Slack channel, once per topic per hour; a topic is
what the messages are about, not the classifier's guess."""

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


@pytest.fixture
async def clean_db(stack: Stack) -> AsyncIterator[Redis]:
    redis = Redis.from_url(
        stack.redis_url.rsplit("/", 1)[0] + f"/{REDIS_DB}", decode_responses=True
    )
    await redis.flushdb()
    yield redis
    await redis.flushdb()
    await redis.aclose()


GIFT_CARDS = [
    "do you sell gift cards?",
    "can I buy a gift card for my sister",
    "gift card balance?",
    "are gift cards available in stores",
]
BLACK_FRIDAY = "when does the black friday sale start"


async def test_a_burst_on_one_new_topic_alerts_once_naming_it(
    stack: Stack, extra_bridge: Callable[[dict[str, str]], Service], clean_db: Redis
) -> None:
    # A person creates the alerts channel: the app's manifest grants no channels:manage.
    slack = AsyncWebClient(token="xoxp-U0ALICE", base_url=f"{stack.slack_url}/api/")
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

    # Gift cards in four wordings, and one message about something else: the classifier calls
    # them all out of scope; the alert is about gift cards alone.
    for n, said in enumerate([GIFT_CARDS[0], BLACK_FRIDAY, *GIFT_CARDS[1:]]):
        async with WidgetCustomer(url) as customer:
            await customer.say(said)
            await customer.wait_for(lambda m: "can't help" in m.get("text", ""), "an abstention")
        if n == 2:
            assert await posts() == []  # two about gift cards are not a spike
    alert = (await eventually(posts, lambda ps: len(ps) >= 1, what="the spike alert"))[0]
    assert "Topic spike: `card, gift`" in alert, alert
    assert "3 handoffs or abstentions in the last hour" in alert
    assert GIFT_CARDS[0] in alert and GIFT_CARDS[1] in alert
    assert "black friday" not in alert
    # The fourth in the same hour does not post a second alert.
    assert len(await posts()) == 1


def _spikes(redis: Redis, min_count: int = 5) -> Spikes:
    return Spikes(redis, Outbox(redis), SpikeRule("C0ALERTS", multiple=3.0, min_count=min_count))


async def _alerts(redis: Redis) -> list[TopicSpikeAlert]:
    jobs = [decode(fields) for _, fields in await redis.xrange(keys.SLACK_OUTBOX)]
    return [job for job in jobs if isinstance(job, TopicSpikeAlert)]


async def test_three_new_topics_that_the_classifier_lumps_together_are_three(
    clean_db: Redis,
) -> None:
    spikes, now = _spikes(clean_db, min_count=3), int(time.time() * 1000)
    said = {
        "gift cards": GIFT_CARDS[:3],
        "black friday": [BLACK_FRIDAY, "is there a black friday sale?", "black friday deals?"],
        "bitcoin": ["can I pay in bitcoin", "bitcoin accepted?", "do you take bitcoin payments"],
    }
    n = 0
    for texts in zip(*said.values(), strict=True):  # interleaved, as they would arrive
        for text in texts:
            n += 1
            await spikes.count_turn(f"c-{n}", text, "out_of_scope", 0.7, "abstain", "", now + n)
    alerts = await _alerts(clean_db)
    assert sorted(alert.topic for alert in alerts) == [
        "bitcoin",
        "black, friday, sale",
        "card, gift",
    ]
    for alert in alerts:
        quoted = {example.text for example in alert.examples}
        topic = next(name for name in said if set(said[name]) == quoted)
        assert alert.last_hour == 3, topic


async def test_requests_for_a_person_are_counted_apart_and_never_alert(clean_db: Redis) -> None:
    spikes, now = _spikes(clean_db), int(time.time() * 1000)
    for n in range(8):
        await spikes.count_turn(
            f"p-{n}",
            "I want to talk to a person",
            "contact_human_agent",
            0.99,
            "handoff",
            "explicit_request",
            now + n,
        )
    assert await _alerts(clean_db) == []
    assert await clean_db.zcard(keys.PERSON_REQUESTS) == 8


async def test_the_bar_rises_with_the_hours_volume(clean_db: Redis) -> None:
    spikes, now = _spikes(clean_db), int(time.time() * 1000)
    # A busy hour: 60 misses about 60 different things, then 5 about gift cards.
    for n in range(60):
        await spikes.count(f"misc-{n}", f"m-{n}", "something else", "abstain", now + n)
    for n, text in enumerate([*GIFT_CARDS, "gift cards for christmas?"]):
        await spikes.count_turn(f"g-{n}", text, "nlu_fallback", 0.6, "abstain", "", now + 100 + n)
    assert await _alerts(clean_db) == []  # 5 of 65 is under a tenth of the hour
    # In a quiet hour the same five are a spike.
    await clean_db.flushdb()
    for n, text in enumerate([*GIFT_CARDS, "gift cards for christmas?"]):
        await spikes.count_turn(f"g-{n}", text, "nlu_fallback", 0.6, "abstain", "", now + n)
    assert [alert.topic for alert in await _alerts(clean_db)] == ["card, gift"]


async def test_a_confident_intent_is_its_own_topic(clean_db: Redis) -> None:
    spikes, now = _spikes(clean_db, min_count=3), int(time.time() * 1000)
    # Where is my order, three ways, while the order system is down: handoffs about one intent.
    for n, text in enumerate(["where is my order", "track my parcel", "has it shipped yet"]):
        await spikes.count_turn(
            f"o-{n}", text, "track_order", 0.95, "handoff", "backend_failed", now + n
        )
    assert [alert.topic for alert in await _alerts(clean_db)] == ["track_order"]


async def test_a_topic_that_is_always_busy_is_not_a_spike(clean_db: Redis) -> None:
    spikes, now = _spikes(clean_db), int(time.time() * 1000)
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
