"""A web customer in a real browser, the assistant, a handoff, and a staff member in Slack."""

from __future__ import annotations

from playwright.async_api import Browser, Page, expect

from devstack.stack import Stack
from tests.support import StaffDesk, eventually

MESSAGES = '[data-testid="chat-message"]'


async def _open_widget(page: Page, url: str) -> None:
    await page.goto(url)
    panel = page.locator('[data-testid="chat-panel"]')
    if not await panel.is_visible():
        await page.locator('[data-testid="chat-launcher"]').click()
    await expect(page.locator('[data-testid="chat-status"]')).to_have_attribute(
        "data-state", "online", timeout=15_000
    )


async def _say(page: Page, text: str) -> None:
    await page.locator('[data-testid="chat-input"]').fill(text)
    await page.locator('[data-testid="chat-send"]').click()


def _role(page: Page, role: str):  # type: ignore[no-untyped-def]
    return page.locator(f'{MESSAGES}[data-role="{role}"]')


async def test_widget_customer_reaches_staff_and_keeps_history(
    stack: Stack, browser: Browser
) -> None:
    desk = StaffDesk(stack.slack_url)
    context = await browser.new_context()
    page = await context.new_page()
    await _open_widget(page, f"{stack.bridge_url}/widget/")

    await _say(page, "hello")
    await expect(_role(page, "bot").first).to_be_visible(timeout=20_000)
    greeting_count = await _role(page, "bot").count()

    await _say(page, "which payment methods can I use?")
    await expect(_role(page, "bot").nth(greeting_count)).to_contain_text("PayPal", timeout=20_000)
    bot_count = await _role(page, "bot").count()

    await _say(page, "I want to talk to a person")
    await expect(_role(page, "system").last).to_contain_text("person from our team", timeout=20_000)
    # Handed over at once: the assistant added nothing (no confirmation question).
    assert await _role(page, "bot").count() == bot_count

    conversation_id = await page.evaluate(
        "() => Object.entries(localStorage).find(([k]) => k.includes('token'))?.[1]"
    )
    assert conversation_id, "the widget keeps its session token"
    conversation_id = conversation_id.split(".")[0]
    thread_ts = await desk.wait_for_thread(conversation_id)
    thread = await desk.thread_text(thread_ts)
    assert "which payment methods can I use?" in thread
    assert "asked for a person" in thread

    await desk.reply(thread_ts, "Hello, Alice from support here.")
    await expect(_role(page, "staff").last).to_contain_text("Alice from support", timeout=20_000)

    await _say(page, "thanks, my order 1234 never arrived")
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
    await _open_widget(page, f"{stack.bridge_url}/widget/")
    await expect(_role(page, "staff").last).to_contain_text("ships today", timeout=20_000)
    texts = await page.locator(MESSAGES).all_inner_texts()
    joined = "\n".join(texts)
    for line in ("hello", "which payment methods", "I want to talk to a person", "Alice from"):
        assert line in joined, joined
    await context.close()
