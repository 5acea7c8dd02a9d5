"""A full Redis (maxmemory with noeviction, as shipped: deploy/redis.conf) refuses writes; the
widget is told so, keeps the message, and nothing is lost once there is room again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from devstack.stack import Stack, scratch_redis
from tests.desk.helpers import WidgetCustomer
from tests.reliability.conftest import Replicas, start_replicas


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[str]:
    with scratch_redis("redis-full", tmp_path, "--maxmemory-policy", "noeviction") as url:
        yield url


async def test_a_full_redis_answers_unavailable_and_loses_nothing(
    stack: Stack, own_redis: str, tmp_path: Path
) -> None:
    replicas: Replicas = await start_replicas(
        stack, tmp_path, redis_db=0, count=1, events_to=0, redis_url=own_redis
    )
    redis = Redis.from_url(own_redis, decode_responses=True)
    try:
        async with WidgetCustomer(replicas.bridge_urls[0]) as customer:
            await customer.answer_to(await customer.say("first words"))
            assert customer._ws is not None
            await redis.config_set("maxmemory", "1")  # full: every write is refused
            frame = {"type": "message", "text": "kept for later", "client_msg_id": "full-1"}
            await customer._ws.send_json(frame)
            refused = await customer.answer_to("full-1")
            assert refused["code"] == "unavailable" and refused["retry_after"] > 0
            await redis.config_set("maxmemory", "0")
            customer.frames = [f for f in customer.frames if f.get("client_msg_id") != "full-1"]
            await customer._ws.send_json(frame)  # the widget sends it again, as asked
            assert (await customer.answer_to("full-1"))["type"] == "ack"
            await customer.wait_for(lambda m: m["text"] == "kept for later", "the message")
        texts = [m["text"] for m in customer.messages() if m["role"] == "customer"]
        assert texts.count("kept for later") == 1
    finally:
        await redis.config_set("maxmemory", "0")
        await redis.aclose()
        for service in reversed(replicas.all()):
            service.stop()
