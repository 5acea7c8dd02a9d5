"""Out of scope: one plain "can't help", a one-tap way to a person, and no rephrase loop; over
a Telegram webhook and over polling."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from devstack.stack import Stack
from tests.conftest import STACK_MODES, either_stack
from tests.support import StaffDesk, TelegramCustomer, eventually
from tests.widget_page import open_widget, say

OFF_TOPIC = "what's the best recipe for banana bread?"
NOTICE = "person from our team"


@pytest.fixture(scope="session", params=STACK_MODES)
def stack(request: pytest.FixtureRequest) -> Stack:
    """Over a Telegram webhook (the Events API), and over polling (Socket Mode)."""
    return either_stack(request)


async def test_telegram_button_hands_over_in_one_tap(stack: Stack, chat_id: int) -> None:
    customer = TelegramCustomer(stack.telegram_url, chat_id, first_name="Gus")
    await customer.say(OFF_TOPIC)
    messages = await eventually(
        customer.received,
        lambda ms: any(m.get("reply_markup") for m in ms),
        what="an abstention with a button",
    )
    offer = next(m for m in messages if m.get("reply_markup"))
    assert "can't help" in offer["text"]
    button = offer["reply_markup"]["inline_keyboard"][0][0]
    assert button["text"] == "Talk to a person"

    await customer.tap(offer["message_id"], button["callback_data"])
    await customer.wait_for(lambda t: NOTICE in t, "the handoff notice")
    thread_ts = await StaffDesk(stack.slack_url).wait_for_thread(f"tg-{chat_id}")
    # The thread shows the off-topic question that came before the tap (the transcript is
    # posted after the card, at the channel's pace).
    thread = await eventually(
        lambda: StaffDesk(stack.slack_url).thread_text(thread_ts),
        lambda text: "banana bread" in text,
        what="the transcript in the thread",
    )
    assert "asked for a person" in thread


async def test_second_miss_in_a_row_hands_over(stack: Stack, chat_id: int) -> None:
    customer = TelegramCustomer(stack.telegram_url, chat_id, first_name="Hana")
    await customer.say(OFF_TOPIC)
    await customer.wait_for(lambda t: "can't help" in t, "the first abstention")
    await customer.say("how tall is the eiffel tower")
    texts = await customer.wait_for(lambda t: NOTICE in t, "a handoff after the second miss")
    # One plain "can't help", never a second one or a "please rephrase" loop.
    assert sum("can't help" in t for t in texts) == 1, texts
    assert not any("rephrase" in t.lower() for t in texts), texts
    thread_ts = await StaffDesk(stack.slack_url).wait_for_thread(f"tg-{chat_id}")
    assert "two messages in a row" in await StaffDesk(stack.slack_url).thread_text(thread_ts)


async def test_widget_quick_reply_hands_over(stack: Stack, browser: Browser) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    await open_widget(page, stack.bridge_url)
    await say(page, OFF_TOPIC)
    chip = page.locator('[data-testid="chat-quick-reply"]', has_text="Talk to a person")
    await expect(chip).to_be_visible(timeout=20_000)
    await chip.click()
    system = page.locator('[data-testid="chat-message"][data-role="system"]')
    await expect(system.last).to_contain_text(NOTICE, timeout=20_000)
    # The tap shows as the customer's own words, not as an intent payload.
    customer_lines = await page.locator(
        '[data-testid="chat-message"][data-role="customer"]'
    ).all_inner_texts()
    assert any("Talk to a person" in line for line in customer_lines)
    assert not any("/contact_human_agent" in line for line in customer_lines)
    await context.close()
