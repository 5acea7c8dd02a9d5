"""Acting as a customer on the widget demo page in a real browser."""

from __future__ import annotations

from playwright.async_api import Locator, Page, expect

MESSAGES = '[data-testid="chat-message"]'


async def open_widget(page: Page, bridge_url: str) -> None:
    """Load the demo page and wait until the widget is connected."""
    await page.goto(f"{bridge_url}/widget/")
    if not await page.locator('[data-testid="chat-panel"]').is_visible():
        await page.locator('[data-testid="chat-launcher"]').click()
    await expect(page.locator('[data-testid="chat-status"]')).to_have_attribute(
        "data-state", "online", timeout=15_000
    )


async def say(page: Page, text: str) -> None:
    await page.locator('[data-testid="chat-input"]').fill(text)
    await page.locator('[data-testid="chat-send"]').click()


def messages_by(page: Page, role: str) -> Locator:
    return page.locator(f'{MESSAGES}[data-role="{role}"]')


async def conversation_id(page: Page) -> str:
    """The conversation the page's stored session token grants."""
    token = await page.evaluate(
        "() => Object.entries(localStorage).find(([k]) => k.includes('token'))?.[1]"
    )
    assert token, "the widget keeps its session token"
    return str(token).split(".")[1]  # v2.<conversation>.<issued>.<signature>


async def ask_for_a_person(page: Page, bridge_url: str) -> str:
    """Open the widget, ask for a person, wait for the notice; returns the conversation id."""
    await open_widget(page, bridge_url)
    await say(page, "I want to talk to a person")
    await expect(messages_by(page, "system").last).to_contain_text(
        "person from our team", timeout=20_000
    )
    return await conversation_id(page)
