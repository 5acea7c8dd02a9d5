"""Staff see who they are talking to (issue 13): the card in the local Slack says whether the
shop vouched for the customer, and links a returning customer's threads on any channel."""

from __future__ import annotations

from devstack.stack import Stack
from tests.desk.helpers import Desk, WidgetCustomer, card_text
from tests.identity.helpers import ANA, answer_to, link_code, sign
from tests.support import TelegramCustomer


async def test_the_card_says_who_is_verified_and_links_their_threads_across_channels(
    stack: Stack, chat_id: int
) -> None:
    desk = Desk(stack.slack_url)
    async with WidgetCustomer(stack.bridge_url, identity=sign(ANA)) as ana:
        await ana.say("I want to talk to a person")
        web_thread = await desk.wait_for_thread(ana.conversation_id)
        card = card_text(await desk.wait_for_card(web_thread, "Verified"))
        assert "*Verified:* Ana García, ana@example.com (signed in on the shop's website)" in card
        assert "*Ana García*" in card  # named on the title, not as an opaque id

    # The same customer, later, on Telegram (linked from her account page).
    telegram = TelegramCustomer(stack.telegram_url, chat_id, first_name="A.")
    await answer_to(telegram, f"/start {await link_code(stack, ANA)}")
    await telegram.say("I want to talk to a person")
    telegram_thread = await desk.wait_for_thread(f"tg-{chat_id}")
    card = card_text(await desk.wait_for_card(telegram_thread, "Returning customer"))
    assert "Telegram linked from their account page" in card
    assert f"/archives/C0STAFF/p{web_thread.replace('.', '')}" in card  # her web thread


async def test_a_guest_is_marked_not_verified(stack: Stack) -> None:
    desk = Desk(stack.slack_url)
    async with WidgetCustomer(stack.bridge_url) as guest:
        await guest.say("I'm Ana García, ana@example.com, please get me a person")
        thread = await desk.wait_for_thread(guest.conversation_id)
        card = card_text(await desk.wait_for_card(thread, "Not verified"))
        assert "Verified:*" not in card
