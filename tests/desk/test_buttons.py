"""Claim, Close (with the satisfaction question) and Hand back, pressed on the card."""

from __future__ import annotations

import json
import time

import aiohttp

from devstack.stack import Stack
from tests.desk.helpers import Desk, WidgetCustomer, buttons, card_text
from tests.support import eventually, telegram_handoff


async def test_claim_shows_who_has_it_and_tells_the_customer(stack: Stack, chat_id: int) -> None:
    alice, bob = Desk(stack.slack_url), Desk(stack.slack_url, user="U0BOB")
    customer, card_ts = await telegram_handoff(stack.telegram_url, alice, chat_id, "Hana")

    await alice.click(card_ts, "desk_claim")
    await customer.wait_for(
        lambda t: "Alice from our team is looking at your conversation" in t, "the claim notice"
    )
    card = await alice.wait_for_card(card_ts, "Claimed by *Alice*")
    assert "desk_claim" not in buttons(card)

    # Bob presses an old copy of the button: Alice keeps it, the customer hears nothing new.
    before = await customer.texts()
    await bob.click(card_ts, "desk_claim")
    await alice.click(card_ts, "desk_claim")  # and a double click changes nothing either
    assert "Claimed by *Alice*" in card_text(await alice.card(card_ts))
    await customer.say("thanks")
    await eventually(
        lambda: alice.thread_text(card_ts), lambda t: "thanks" in t, what="the follow-up"
    )
    assert await customer.texts() == before


async def test_close_asks_the_customer_one_question_and_posts_the_answer(
    stack: Stack, chat_id: int
) -> None:
    desk = Desk(stack.slack_url)
    customer, card_ts = await telegram_handoff(stack.telegram_url, desk, chat_id, "Ines")
    await desk.say(card_ts, "Your refund is on its way.")
    await customer.wait_for(lambda t: "refund is on its way" in t, "the staff reply")

    await desk.click(card_ts, "desk_close")
    await customer.wait_for(lambda t: "Alice has closed this conversation" in t, "close notice")
    prompt = await eventually(
        customer.received,
        lambda ms: any(m["reply_markup"] for m in ms if "How would you rate" in m["text"]),
        what="the satisfaction question with buttons",
    )
    question = next(m for m in prompt if "How would you rate" in m["text"])
    choices = [b["text"] for row in question["reply_markup"]["inline_keyboard"] for b in row]
    assert choices == ["😀 Great", "😐 OK", "🙁 Poor"]
    card = await desk.wait_for_card(card_ts, "Closed by Alice")
    assert buttons(card) == []

    await customer.tap(question["message_id"], "/csat_great")
    await eventually(
        lambda: desk.thread_text(card_ts),
        lambda t: "rated this conversation: *😀 Great*" in t,
        what="the rating in the thread",
    )
    await customer.wait_for(lambda t: "Thank you for telling us" in t, "the thanks")
    # The assistant never saw the rating: nothing else was said.
    assert not any("can't help" in t for t in await customer.texts())


async def test_widget_customer_rates_with_the_widget_buttons(stack: Stack) -> None:
    desk = Desk(stack.slack_url)
    async with WidgetCustomer(stack.bridge_url) as customer:
        await customer.say("I want to talk to a person")
        await customer.wait_for(lambda m: "person from our team" in m["text"], "handoff notice")
        card_ts = await desk.wait_for_thread(customer.conversation_id)
        await desk.click(card_ts, "desk_close")
        question = await customer.wait_for(
            lambda m: "How would you rate" in m["text"], "the satisfaction question"
        )
        assert [b["payload"] for b in question["buttons"]] == [
            "/csat_great",
            "/csat_ok",
            "/csat_poor",
        ]
        await customer.say("🙁 Poor", payload="/csat_poor")
        await eventually(
            lambda: desk.thread_text(card_ts),
            lambda t: "rated this conversation: *🙁 Poor*" in t,
            what="the rating in the thread",
        )


async def test_hand_back_lets_the_bot_answer_again(stack: Stack, chat_id: int) -> None:
    desk = Desk(stack.slack_url)
    customer, card_ts = await telegram_handoff(stack.telegram_url, desk, chat_id, "Jon")

    await desk.click(card_ts, "desk_hand_back")
    await customer.wait_for(lambda t: "back with our automated assistant" in t, "the notice")
    await desk.wait_for_card(card_ts, "Handed back to the bot by Alice")

    before = len(await customer.texts())
    await customer.say("what payment methods do you accept?")
    texts = await eventually(
        customer.texts, lambda ts: len(ts) > before, what="the assistant's answer"
    )
    # Answered by the assistant, fresh: not a fallback, not another handoff.
    assert "paypal" in texts[before].lower(), texts[before:]
    # Fresh because the bridge reset the assistant's memory of the conversation first.
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            f"{stack.rasa_url}/conversations/tg-{chat_id}/tracker",
            params={"include_events": "ALL"},
        ) as response,
    ):
        events = [e["event"] for e in (await response.json())["events"]]
    assert "restart" in events and events.index("restart") < len(events) - 1
    thread = await desk.thread_text(card_ts)
    assert "payment methods" not in thread

    # A late reply in the handed-back thread is not sent; the thread says why.
    await desk.say(card_ts, "one more thing")
    await eventually(
        lambda: desk.thread_text(card_ts),
        lambda t: "Not delivered to the customer" in t and "handed back to the bot" in t,
        what="the warning in the thread",
    )
    assert not any("one more thing" in t for t in await customer.texts())


async def test_unsigned_button_clicks_are_refused(stack: Stack) -> None:
    payload = {"type": "block_actions", "actions": [{"action_id": "desk_close"}]}
    body = "payload=" + json.dumps(payload)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": str(int(time.time())),
        "X-Slack-Signature": "v0=" + "0" * 64,
    }
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{stack.bridge_url}/slack/interactivity", data=body, headers=headers) as r,
    ):
        assert r.status == 401
