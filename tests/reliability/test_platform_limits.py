"""Slack's and Telegram's limits hold across replicas: bursts are paced and coalesced, nothing
is dropped or reordered, and the platforms (local stand-ins with their limits on) refuse
nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from tests.desk.helpers import WidgetCustomer
from tests.ops.conftest import scrape, value
from tests.reliability.conftest import Replicas
from tests.reliability.test_scale_out import numbered
from tests.support import STAFF_CHANNEL, StaffDesk, TelegramCustomer, eventually

A, B = 0, 1
LINES = 8


async def _retries(replicas: Replicas, channel: str) -> float:
    """Deliveries the platform refused for now (429 or 5xx), over every replica."""
    total = 0.0
    for url in replicas.bridge_urls:
        total += value(await scrape(url), "bridge_delivery_retries_total", channel=channel)
    return total


def _patient(desk: StaffDesk, user: str = "U0ALICE") -> StaffDesk:
    # The staff member's own client waits out Slack's limit, as a person would.
    desk.person = AsyncWebClient(
        token=f"xoxp-{user}",
        base_url=desk.person.base_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=10)],
    )
    return desk


async def test_a_burst_of_customer_lines_becomes_fewer_posts_in_order(
    replicas_factory: Callable[..., Any],
) -> None:
    replicas: Replicas = await replicas_factory(13, events_to=B, rate_limit=True)
    desk = StaffDesk(replicas.slack_url)
    async with (
        WidgetCustomer(replicas.bridge_urls[A]) as on_a,
        WidgetCustomer(replicas.bridge_urls[B]) as on_b,
    ):
        threads = {}
        for customer in (on_a, on_b):
            await customer.say("let me talk to a real person")
            await customer.wait_for(
                lambda m: "person from our team" in m.get("text", ""), "the handoff notice"
            )
            threads[customer.conversation_id] = await desk.wait_for_thread(customer.conversation_id)
        # Two customers on two replicas type quickly into the same staff channel.
        for n in range(1, LINES + 1):
            await on_a.say(f"burst {n:02d}")
            await on_b.say(f"burst {n:02d}")
        for thread_ts in threads.values():
            await eventually(
                lambda ts=thread_ts: desk.thread_text(ts),
                lambda t: f"burst {LINES:02d}" in t,
                what="every line in the thread",
            )
            posts = [m.get("text", "") for m in await desk.thread(thread_ts)]
            carrying = [p for p in posts if "burst" in p]
            # Every line, once, in order; fewer posts than lines.
            assert numbered("burst", "\n".join(posts)) == list(range(1, LINES + 1)), posts
            assert len(carrying) < LINES, carrying
    # Slack never had to refuse a post.
    assert await _retries(replicas, "slack") == 0


async def test_staff_replies_to_telegram_are_paced_per_chat(
    replicas_factory: Callable[..., Any], chat_id: int
) -> None:
    replicas: Replicas = await replicas_factory(14, events_to=B, rate_limit=True, telegram=True)
    customer = TelegramCustomer(replicas.telegram_url, chat_id, first_name="Ines")
    desk = _patient(StaffDesk(replicas.slack_url))
    await customer.say("let me talk to a real person")
    await customer.wait_for(lambda t: "person from our team" in t, "the handoff notice")
    thread_ts = await desk.wait_for_thread(f"tg-{chat_id}")
    for n in range(1, 7):
        await desk.person.chat_postMessage(
            channel=STAFF_CHANNEL, thread_ts=thread_ts, text=f"reply {n:02d}"
        )
    texts = await customer.wait_for(lambda t: "reply 06" in t, "the last staff reply")
    assert numbered("reply", "\n".join(texts)) == [1, 2, 3, 4, 5, 6], texts
    # Telegram's one-message-a-second per chat was never exceeded.
    assert await _retries(replicas, "telegram") == 0
