"""A web customer in a real browser, the assistant, a handoff, and a staff member in Slack."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from devstack.stack import Stack
from tests.support import StaffDesk, eventually
from tests.widget_page import MESSAGES, conversation_id, open_widget, say
from tests.widget_page import messages_by as _role


async def test_widget_customer_reaches_staff_and_keeps_history(
    stack: Stack, browser: Browser
) -> None:
    desk = StaffDesk(stack.slack_url)
    context = await browser.new_context()
    page = await context.new_page()
    await open_widget(page, stack.bridge_url)

    await say(page, "hello")
    await expect(_role(page, "bot").first).to_be_visible(timeout=20_000)
    greeting_count = await _role(page, "bot").count()

    await say(page, "which payment methods can I use?")
    await expect(_role(page, "bot").nth(greeting_count)).to_contain_text("PayPal", timeout=20_000)
    bot_count = await _role(page, "bot").count()

    await say(page, "I want to talk to a person")
    await expect(_role(page, "system").last).to_contain_text("person from our team", timeout=20_000)
    # Handed over at once: the assistant added nothing (no confirmation question).
    assert await _role(page, "bot").count() == bot_count

    thread_ts = await desk.wait_for_thread(await conversation_id(page))
    # The transcript follows the card at the channel's posting pace.
    thread = await eventually(
        lambda: desk.thread_text(thread_ts),
        lambda text: "which payment methods can I use?" in text,
        what="the transcript in the thread",
    )
    assert "asked for a person" in thread

    await desk.reply(thread_ts, "Hello, Alice from support here.")
    await expect(_role(page, "staff").last).to_contain_text("Alice from support", timeout=20_000)

    await say(page, "thanks, my order 1234 never arrived")
    await eventually(
        lambda: desk.thread_text(thread_ts),
        lambda text: "my order 1234 never arrived" in text,
        what="the follow-up in the thread",
    )
    assert await _role(page, "bot").count() == bot_count

    # Close the page; staff answers meanwhile; the next visit shows everything.
    await page.close()
    await desk.reply(thread_ts, "I have found your order, it ships today.")
    page = await context.new_page()
    await open_widget(page, stack.bridge_url)
    await expect(_role(page, "staff").last).to_contain_text("ships today", timeout=20_000)
    texts = await page.locator(MESSAGES).all_inner_texts()
    joined = "\n".join(texts)
    for line in ("hello", "which payment methods", "I want to talk to a person", "Alice from"):
        assert line in joined, joined
    await context.close()
