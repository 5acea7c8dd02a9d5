"""The bridge killed mid-conversation and started again: nothing lost, the conversation goes on,
whether Telegram calls the bridge (webhook) or the bridge polls Telegram (getUpdates)."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis

from bridge import keys
from devstack.stack import Stack
from tests.conftest import STACK_MODES, either_stack
from tests.support import StaffDesk, TelegramCustomer, eventually, inject_fault, telegram_handoff


@pytest.fixture(scope="session", params=STACK_MODES)
def stack(request: pytest.FixtureRequest) -> Stack:
    return either_stack(request)


async def test_conversation_survives_bridge_kill(stack: Stack, chat_id: int) -> None:
    desk = StaffDesk(stack.slack_url)
    customer, thread_ts = await telegram_handoff(
        stack.telegram_url, desk, chat_id, "Farah", "let me talk to a real person"
    )

    bridge = stack.services["bridge"]
    bridge.kill()  # SIGKILL: no chance to flush anything
    await customer.say("hello? are you still there?")
    await desk.reply(thread_ts, "Yes, still here, checking now.")
    await asyncio.to_thread(bridge.start)

    # Both messages sent while the bridge was down arrive, once each.
    await customer.wait_for(lambda t: "still here, checking now" in t, "the staff reply")
    await eventually(
        lambda: desk.thread_text(thread_ts),
        lambda text: "are you still there?" in text,
        what="the customer's message in the thread",
    )
    # The mode and thread mapping came back from Redis: the conversation carries on.
    await customer.say("my order number is 4417")
    await eventually(
        lambda: desk.thread_text(thread_ts),
        lambda text: "my order number is 4417" in text,
        what="a follow-up after the restart",
    )
    await desk.reply(thread_ts, "Found it, thank you.")
    texts = await customer.wait_for(lambda t: "Found it" in t, "a reply after the restart")
    assert sum("still here, checking now" in t for t in texts) == 1, texts
    thread = await desk.thread_text(thread_ts)
    assert thread.count("are you still there?") == 1, thread


async def test_a_killed_poller_loses_no_message_and_answers_none_twice(
    no_public_url_stack: Stack, chat_id: int
) -> None:
    """Killed after handling an update it could not yet confirm to Telegram (its next getUpdates
    failed), with another update waiting and one more sent while it is down: after the restart
    Telegram delivers all three, and the handled one is recognised, not answered again."""
    stack = no_public_url_stack
    customer = TelegramCustomer(stack.telegram_url, chat_id, first_name="Pia")
    await customer.say("hi")
    await customer.wait_for(lambda t: bool(t), "a greeting")
    await eventually(
        lambda: _updates(stack, chat_id),
        lambda us: [u["status"] for u in us] == ["delivered"],
        what="the greeting's update confirmed",
    )

    # From now on every getUpdates fails: the next update is handled but never confirmed.
    await inject_fault(stack.telegram_url, "getUpdates", 502, count=100_000)
    await customer.say("what payment methods do you accept?")
    await customer.wait_for(lambda t: "paypal" in t.lower(), "the answer about payments")
    await customer.say("thank you")  # reaches Telegram, never the bridge before it dies
    handled, waiting = [u for u in await _updates(stack, chat_id)][1:]
    assert handled["status"] == waiting["status"] == "pending"

    bridge = stack.services["bridge"]
    bridge.kill()  # SIGKILL: no confirmation, no lease released
    await inject_fault(stack.telegram_url, "getUpdates", 502, count=0)  # Telegram is back
    await customer.say("how long does delivery take?")  # while the bridge is down
    await asyncio.to_thread(bridge.start)

    await eventually(
        lambda: _updates(stack, chat_id),
        lambda us: [u["status"] for u in us] == ["delivered"] * 4,
        what="every update delivered and confirmed after the restart",
    )
    redelivered = next(
        u for u in await _updates(stack, chat_id) if u["update_id"] == handled["update_id"]
    )
    assert redelivered["attempts"] >= 2  # Telegram did hand it out again...
    lines = await _transcript(stack, chat_id)
    said = [f["text"] for f in lines if f["role"] == "customer"]
    # ...and every line is in the conversation once, in order.
    assert said == [
        "hi",
        "what payment methods do you accept?",
        "thank you",
        "how long does delivery take?",
    ]
    # The assistant answered each customer line once (one decision per line), and the one it had
    # answered before dying was not answered again.
    texts = await customer.wait_for(lambda t: "working day" in t, "the answer about delivery")
    assert sum("paypal" in t.lower() for t in texts) == 1, texts
    turns = await _turns(stack, chat_id)
    answered = [t["message_id"] for t in turns]
    assert len(answered) == len(set(answered)) == 4, turns


async def _updates(stack: Stack, chat_id: int) -> list[dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{stack.telegram_url}/_test/updates") as response,
    ):
        return [u for u in await response.json() if u["chat_id"] == chat_id]


async def _transcript(stack: Stack, chat_id: int) -> list[dict[str, str]]:
    redis = Redis.from_url(stack.redis_url, decode_responses=True)
    try:
        return [fields for _, fields in await redis.xrange(keys.transcript(f"tg-{chat_id}"))]
    finally:
        await redis.aclose()


async def _turns(stack: Stack, chat_id: int) -> list[dict[str, str]]:
    redis = Redis.from_url(stack.redis_url, decode_responses=True)
    try:
        return [fields for _, fields in await redis.xrange(keys.turns(f"tg-{chat_id}"))]
    finally:
        await redis.aclose()
