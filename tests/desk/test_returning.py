"""A returning customer's new handoff links to their earlier threads."""

from __future__ import annotations

from devstack.stack import Stack
from tests.desk.helpers import Desk, WidgetCustomer, card_text
from tests.support import eventually, telegram_handoff


async def _new_card(desk: Desk, needle: str, old: set[str]) -> str:
    messages = await eventually(
        desk.top_level,
        lambda ms: any(needle in m.get("text", "") and m["ts"] not in old for m in ms),
        what="a new handoff card",
    )
    return next(m["ts"] for m in messages if needle in m.get("text", "") and m["ts"] not in old)


async def test_telegram_customer_coming_back_is_linked_to_the_earlier_thread(
    stack: Stack, chat_id: int
) -> None:
    desk = Desk(stack.slack_url)
    customer, first = await telegram_handoff(stack.telegram_url, desk, chat_id, "Olga")
    assert "Returning customer" not in card_text(await desk.card(first))
    await desk.click(first, "desk_close")
    await customer.wait_for(lambda t: "closed this conversation" in t, "the close notice")

    await customer.say("I need a person again please")
    second = await _new_card(desk, f"tg-{chat_id}", {first})
    card = await desk.wait_for_card(second, "Returning customer")
    permalink = f"/archives/C0STAFF/p{first.replace('.', '')}"
    assert permalink in card_text(card)
    # The new thread is the live one: replies there reach the customer.
    await desk.say(second, "Welcome back, Olga")
    await customer.wait_for(lambda t: "Welcome back, Olga" in t, "the reply in the new thread")


async def test_widget_visitor_with_the_same_token_is_recognised(stack: Stack) -> None:
    desk = Desk(stack.slack_url)
    async with WidgetCustomer(stack.bridge_url) as visit:
        await visit.say("I want to talk to a person")
        await visit.wait_for(lambda m: "person from our team" in m["text"], "handoff notice")
        first = await desk.wait_for_thread(visit.conversation_id)
        token, conversation_id = visit.token, visit.conversation_id
    await desk.click(first, "desk_hand_back")

    async with WidgetCustomer(stack.bridge_url, token=token) as again:
        assert again.conversation_id == conversation_id
        await again.say("can I talk to a human")
        second = await _new_card(desk, conversation_id, {first})
        card = await desk.wait_for_card(second, "Returning customer")
        assert first.replace(".", "") in card_text(card)
