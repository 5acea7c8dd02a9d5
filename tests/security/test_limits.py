"""Abuse limits (docs/abuse.md), through a real bridge and Redis: what one address, one origin
or all anonymous visitors together may start, and the clear answer when they may not.

The bridge here sits "behind a proxy" (BRIDGE_CLIENT_ADDRESS_HEADER), so each test speaks from
addresses of its own; the limits are small so that they are reached quickly.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bridge import keys
from devstack.stack import LOCAL_SHOP_IDENTITY_SECRET, Stack
from tests.desk.helpers import Desk, WidgetCustomer
from tests.identity.helpers import ANA, sign
from tests.reliability.conftest import Replicas, start_replicas
from tests.support import eventually

LIMITS = {
    "BRIDGE_CLIENT_ADDRESS_HEADER": "X-Forwarded-For",
    "SHOP_IDENTITY_SECRET": LOCAL_SHOP_IDENTITY_SECRET,
    "LIMIT_SOURCE_CONNECTIONS_PER_MINUTE": "6",
    "LIMIT_SOURCE_CONVERSATIONS_PER_HOUR": "3",
    "LIMIT_SOURCE_CONVERSATIONS_BURST": "0",
    "LIMIT_ORIGIN_CONVERSATIONS_PER_MINUTE": "4",
    "LIMIT_SOURCE_MESSAGES_PER_MINUTE": "8",
    "LIMIT_SOURCE_MESSAGES_BURST": "0",
    "LIMIT_SESSION_UPLOADS_PER_HOUR": "2",
    "LIMIT_SOURCE_UPLOAD_MB_PER_HOUR": "1",
    "LIMIT_GUEST_HANDOFFS_PER_MINUTE": "1",
    "LIMIT_GUEST_HANDOFFS_BURST": "1",
}


@pytest.fixture(scope="module")
async def bridge(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Replicas]:
    run_dir = tmp_path_factory.mktemp("limits")
    replicas = await start_replicas(stack, run_dir, redis_db=5, count=1, events_to=0, env=LIMITS)
    yield replicas
    for service in reversed(replicas.all()):
        service.stop()


def visitor(bridge: Replicas, address: str, origin: str = "", **options: Any) -> WidgetCustomer:
    # A spoofed entry first: only the last one, which the proxy added, counts.
    headers = {"X-Forwarded-For": f"203.0.113.99, {address}"}
    if origin:
        headers["Origin"] = origin
    return WidgetCustomer(bridge.bridge_urls[0], headers=headers, **options)


def _origin() -> str:
    return f"https://shop-{uuid.uuid4().hex[:8]}.example"


async def test_anonymous_handoffs_are_capped_but_signed_in_customers_go_through(
    bridge: Replicas,
) -> None:
    # First in this module: the cap (one a minute) is shared by every guest, and a guest whose
    # questions the bot cannot answer twice is handed over too.
    desk = Desk(bridge.slack_url)
    async with visitor(bridge, "192.0.2.40", _origin()) as first:
        await first.say("I want to talk to a person")
        await first.wait_for(lambda m: "person from our team" in m["text"], "the handoff")
        await desk.wait_for_thread(first.conversation_id)
    async with visitor(bridge, "192.0.2.41", _origin()) as second:
        await second.say("I want to talk to a person")
        busy = await second.wait_for(
            lambda m: "more requests than it can take" in m["text"], "the busy answer"
        )
        assert "signing in" in busy["text"]
        guest = second.conversation_id
    identity = sign(ANA)
    async with visitor(bridge, "192.0.2.42", _origin(), identity=identity) as signed_in:
        await signed_in.say("I want to talk to a person")
        await signed_in.wait_for(lambda m: "person from our team" in m["text"], "the handoff")
        await desk.wait_for_thread(signed_in.conversation_id)
    cards = await desk.top_level()
    assert not any(guest in m.get("text", "") for m in cards), "the refused guest got no thread"
    redis = bridge.redis()
    assert await redis.hget(keys.conversation(guest), "mode") == "bot"
    await redis.aclose()


async def test_a_hello_stores_nothing_and_the_first_message_stores_an_expiring_conversation(
    bridge: Replicas,
) -> None:
    redis = bridge.redis()

    async def kept() -> set[str]:
        # Everything but the limits' own buckets, which count connections and expire.
        return {key async for key in redis.scan_iter() if not key.startswith("bridge:limit:")}

    before = await kept()
    for n in range(40):
        async with visitor(bridge, f"198.51.100.{n}", _origin()):
            pass
    assert await kept() == before, "opening the widget alone stores nothing"
    buckets = [key async for key in redis.scan_iter(match="bridge:limit:*")]
    assert buckets and all([await redis.pttl(key) > 0 for key in buckets])

    async with visitor(bridge, "198.51.100.200", _origin()) as customer:
        answer = await customer.answer_to(await customer.say("hello there"))
        assert answer["type"] == "ack"
        await customer.wait_for(lambda m: m["role"] == "bot", "the bot's answer")
        conversation = customer.conversation_id
    owned = [key async for key in redis.scan_iter(match=f"*{conversation}*")]
    assert keys.conversation(conversation) in owned
    # Every key the conversation left has an expiry (none is kept forever).
    ttls = {key: await redis.ttl(key) for key in owned}
    assert all(ttl > 0 for ttl in ttls.values()), ttls
    await redis.aclose()


async def test_one_address_may_start_only_so_many_conversations(bridge: Replicas) -> None:
    accepted, refused = [], []
    for _ in range(5):
        async with visitor(bridge, "192.0.2.10", _origin()) as customer:
            answer = await customer.answer_to(await customer.say("hi"))
            (accepted if answer["type"] == "ack" else refused).append(answer)
    assert len(accepted) == 3
    assert all(r["code"] == "rate_limited" and r["retry_after"] > 0 for r in refused), refused
    assert "try again" in refused[0]["message"]
    # Another address is not held back by this one.
    async with visitor(bridge, "192.0.2.11", _origin()) as other:
        assert (await other.answer_to(await other.say("hi")))["type"] == "ack"


async def test_a_flood_of_connections_is_refused_before_the_handshake(bridge: Replicas) -> None:
    for _ in range(6):
        async with visitor(bridge, "192.0.2.60"):
            pass
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        async with visitor(bridge, "192.0.2.60"):
            pass
    assert refused.value.status == 429
    assert int(refused.value.headers["Retry-After"]) > 0  # type: ignore[index]
    async with visitor(bridge, "192.0.2.61") as other:  # another address is let in
        assert other.conversation_id


async def test_one_origin_may_start_only_so_many_conversations(bridge: Replicas) -> None:
    origin = _origin()
    answers = []
    for n in range(6):
        async with visitor(bridge, f"192.0.2.{100 + n}", origin) as customer:
            answers.append(await customer.answer_to(await customer.say("hi")))
    assert [a["type"] for a in answers] == ["ack"] * 4 + ["error"] * 2
    assert {a.get("code") for a in answers[4:]} == {"rate_limited"}


async def test_messages_are_limited_per_address_across_its_conversations(
    bridge: Replicas,
) -> None:
    answers = []
    for _ in range(2):
        async with visitor(bridge, "192.0.2.20", _origin()) as customer:
            for n in range(5):
                answers.append(await customer.answer_to(await customer.say(f"question {n}")))
    assert [a["type"] for a in answers].count("ack") == 8
    assert answers[-1]["code"] == "rate_limited"


async def test_uploads_are_limited_per_session_and_per_address(bridge: Replicas) -> None:
    url = bridge.bridge_urls[0] + "/widget/upload?name=photo.png"

    async def upload(customer: WidgetCustomer, size: int) -> aiohttp.ClientResponse:
        headers = {
            "Authorization": f"Bearer {customer.token}",
            "Content-Type": "image/png",
            **customer.headers,
        }
        async with aiohttp.ClientSession() as http:
            async with http.post(url, data=b"x" * size, headers=headers) as response:
                await response.read()
                return response

    async with visitor(bridge, "192.0.2.30", _origin()) as customer:
        await customer.answer_to(await customer.say("I have a photo"))
        statuses = [(await upload(customer, 1000)).status for _ in range(3)]
        assert statuses == [200, 200, 429]
        refused = await upload(customer, 1000)
        assert int(refused.headers["Retry-After"]) > 0
    async with visitor(bridge, "192.0.2.31", _origin()) as customer:
        await customer.answer_to(await customer.say("I have a big photo"))
        # 1 MB per hour from this address: the first 700 kB go, the next 700 kB do not.
        assert [(await upload(customer, 700_000)).status for _ in range(2)] == [200, 429]


async def test_a_refusal_is_counted_in_the_metrics(bridge: Replicas) -> None:
    async with visitor(bridge, "192.0.2.50", _origin()) as customer:
        for n in range(9):
            await customer.say(f"m{n}")
        await eventually(
            lambda: _metrics(bridge),
            lambda text: 'bridge_limit_refusals_total{limit="source_messages"}' in text,
            what="the refusal in /metrics",
        )


async def _metrics(bridge: Replicas) -> str:
    async with aiohttp.ClientSession() as http:
        async with http.get(bridge.bridge_urls[0] + "/metrics") as response:
            return await response.text()
