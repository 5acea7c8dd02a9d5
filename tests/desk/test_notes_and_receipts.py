"""Internal notes stay in Slack; every relayed staff message gets a receipt or a warning."""

from __future__ import annotations

import aiohttp

from devstack.stack import Stack
from tests.desk.helpers import Desk, WidgetCustomer
from tests.support import eventually, telegram_handoff


async def test_notes_never_reach_the_customer(stack: Stack, chat_id: int) -> None:
    desk = Desk(stack.slack_url)
    customer, card_ts = await telegram_handoff(stack.telegram_url, desk, chat_id, "Kai")

    notes = [
        await desk.say(card_ts, "!note refund looks fraudulent, check with finance"),
        await desk.say(card_ts, "// NOTE: VIP customer"),
        await desk.say(card_ts, "  !NOTE indented and shouting"),
    ]
    await desk.say(card_ts, "Thanks for waiting, Kai.")
    await customer.wait_for(lambda t: "Thanks for waiting, Kai." in t, "the real reply")
    texts = await customer.texts()
    assert not any("fraudulent" in t or "VIP" in t or "shouting" in t for t in texts), texts
    # Each note is marked as kept internal, so its author can see it stayed in Slack.
    for ts in notes:
        await eventually(
            lambda ts=ts: desk.reactions(card_ts, ts), lambda rs: "lock" in rs, what="a lock"
        )
        assert "white_check_mark" not in await desk.reactions(card_ts, ts)


async def test_telegram_delivery_gets_a_receipt(stack: Stack, chat_id: int) -> None:
    desk = Desk(stack.slack_url)
    customer, card_ts = await telegram_handoff(stack.telegram_url, desk, chat_id, "Lea")
    ts = await desk.say(card_ts, "Your parcel left the warehouse.")
    await customer.wait_for(lambda t: "parcel left" in t, "the reply on Telegram")
    await eventually(
        lambda: desk.reactions(card_ts, ts),
        lambda rs: "white_check_mark" in rs,
        what="the delivery receipt",
    )


async def test_blocked_bot_shows_a_warning_in_the_thread(stack: Stack, chat_id: int) -> None:
    desk = Desk(stack.slack_url)
    customer, card_ts = await telegram_handoff(stack.telegram_url, desk, chat_id, "Mo")
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{stack.telegram_url}/_test/customer/block", json={"chat_id": chat_id}
        ) as response,
    ):
        assert response.status == 200
    ts = await desk.say(card_ts, "Are you still there?")
    thread = await eventually(
        lambda: desk.thread_text(card_ts),
        lambda t: "Not delivered to the customer" in t,
        what="the delivery warning",
    )
    assert "blocked" in thread
    assert "white_check_mark" not in await desk.reactions(card_ts, ts)
    assert not any("still there" in t for t in await customer.texts())


async def test_widget_delivery_gets_a_receipt(stack: Stack) -> None:
    desk = Desk(stack.slack_url)
    async with WidgetCustomer(stack.bridge_url) as customer:
        await customer.say("I want to talk to a person")
        await customer.wait_for(lambda m: "person from our team" in m["text"], "handoff notice")
        card_ts = await desk.wait_for_thread(customer.conversation_id)
        ts = await desk.say(card_ts, "Hello from the desk")
        message = await customer.wait_for(
            lambda m: m["text"] == "Hello from the desk", "the reply on the widget"
        )
        assert message["role"] == "staff" and message["author"] == "Alice"
        await eventually(
            lambda: desk.reactions(card_ts, ts),
            lambda rs: "white_check_mark" in rs,
            what="the delivery receipt",
        )
