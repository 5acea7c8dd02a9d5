"""A staff member edits or deletes a reply in Slack; the customer's copy follows."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from devstack.stack import Stack
from tests.desk.helpers import Desk, WidgetCustomer
from tests.support import STAFF_CHANNEL, eventually, telegram_handoff
from tests.widget_page import MESSAGES, ask_for_a_person


async def test_telegram_copy_is_edited_and_deleted(stack: Stack, chat_id: int) -> None:
    desk = Desk(stack.slack_url)
    customer, card_ts = await telegram_handoff(stack.telegram_url, desk, chat_id, "Pia")
    first = await desk.say(card_ts, "Your order ships on Monday.")
    second = await desk.say(card_ts, "Also, here is a 10% voucher.")
    await customer.wait_for(lambda t: "voucher" in t, "both replies")

    await desk.person.chat_update(
        channel=STAFF_CHANNEL, ts=first, text="Your order ships on Tuesday."
    )
    await desk.person.chat_delete(channel=STAFF_CHANNEL, ts=second)

    def copy(received: list[dict], needle: str) -> dict:
        return next(m for m in received if needle in m["text"])

    received = await eventually(
        customer.received,
        lambda ms: (
            any("Tuesday" in m["text"] and m["edited"] for m in ms)
            and copy(ms, "voucher")["deleted"]
        ),
        what="the edit and the deletion on Telegram",
    )
    assert copy(received, "Tuesday")["text"] == "Alice: Your order ships on Tuesday."
    assert not any("Monday" in m["text"] for m in received)


async def test_widget_copy_is_edited_and_deleted(stack: Stack) -> None:
    desk = Desk(stack.slack_url)
    async with WidgetCustomer(stack.bridge_url) as customer:
        await customer.say("I want to talk to a person")
        await customer.wait_for(lambda m: "person from our team" in m["text"], "handoff notice")
        card_ts = await desk.wait_for_thread(customer.conversation_id)
        keep = await desk.say(card_ts, "The fee is 5 EUR.")
        drop = await desk.say(card_ts, "Ignore the fee.")
        kept = await customer.wait_for(lambda m: m["text"] == "The fee is 5 EUR.", "reply 1")
        dropped = await customer.wait_for(lambda m: m["text"] == "Ignore the fee.", "reply 2")

        await desk.person.chat_update(channel=STAFF_CHANNEL, ts=keep, text="The fee is 0 EUR.")
        await desk.person.chat_delete(channel=STAFF_CHANNEL, ts=drop)

        async def frames() -> list[dict]:
            return customer.frames

        await eventually(
            frames,
            lambda fs: (
                {"type": "update", "id": kept["id"], "text": "The fee is 0 EUR."} in fs
                and {"type": "delete", "id": dropped["id"]} in fs
            ),
            what="update and delete frames",
        )
        token = customer.token

    # The next visit shows the conversation as staff left it.
    async with WidgetCustomer(stack.bridge_url, token=token) as again:
        history = await again.wait_for(lambda m: "fee" in m["text"], "the history")
        assert history["text"] == "The fee is 0 EUR." and history.get("edited") is True
        assert not any(m["text"] == "Ignore the fee." for m in again.messages())


async def test_widget_page_shows_the_edit_and_drops_the_deleted_message(
    stack: Stack, browser: Browser
) -> None:
    desk = Desk(stack.slack_url)
    context = await browser.new_context()
    page = await context.new_page()
    card_ts = await desk.wait_for_thread(await ask_for_a_person(page, stack.bridge_url))

    keep = await desk.say(card_ts, "Your code is ABC.")
    drop = await desk.say(card_ts, "Wrong customer, sorry!")
    staff = page.locator(f'{MESSAGES}[data-role="staff"]')
    await expect(staff).to_have_count(2, timeout=20_000)

    await desk.person.chat_update(channel=STAFF_CHANNEL, ts=keep, text="Your code is XYZ.")
    await desk.person.chat_delete(channel=STAFF_CHANNEL, ts=drop)
    await expect(staff).to_have_count(1, timeout=20_000)
    await expect(staff.first).to_contain_text("Your code is XYZ.")
    await expect(staff.first).to_contain_text("edited")
    await expect(page.get_by_text("Wrong customer")).to_have_count(0)
    await context.close()
