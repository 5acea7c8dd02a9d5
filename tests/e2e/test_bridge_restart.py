"""The bridge killed mid-conversation and started again: nothing lost, the conversation goes on."""

from __future__ import annotations

import asyncio

from devstack.stack import Stack
from tests.support import StaffDesk, eventually, telegram_handoff


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
