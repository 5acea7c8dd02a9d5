"""The shop's page signs its customer in to the widget: tampered, expired and replayed
identities, signing out without a reload, and a real browser on a host page."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from playwright.async_api import Browser, expect

from devstack.processes import free_port
from devstack.stack import Stack
from tests.desk.helpers import WidgetCustomer
from tests.identity.helpers import ANA, TOM, Shop, sign, tampered
from tests.support import eventually
from tests.widget_page import messages_by, say


def refused(customer: WidgetCustomer) -> list[str]:
    return [e["message"] for e in customer.errors() if e["code"] == "bad_identity"]


@pytest.mark.parametrize(
    ("identity", "why"),
    [
        (tampered(sign(ANA)), "signature"),
        (sign(ANA, secret="someone-elses-secret-of-32-characters!"), "signature"),
        (sign(ANA, issued=time.time() - 7200, lifetime_s=600), "expired"),
        (sign(ANA, lifetime_s=30 * 24 * 3600), "longer than"),
        (sign(ANA, audience="support-shop"), "not meant for the chat"),
        ("not.a.token", "not a signed identity"),
    ],
)
async def test_an_identity_the_bridge_cannot_trust_leaves_a_guest(
    stack: Stack, identity: str, why: str
) -> None:
    async with WidgetCustomer(stack.bridge_url, identity=identity) as visitor:
        assert visitor.welcome["customer"] is None
        [message] = refused(visitor)
        assert why in message and "chatting as a guest" in message


async def test_a_replayed_identity_works_in_one_browser_only(stack: Stack) -> None:
    token = sign(ANA, jti="one-page-load")
    async with WidgetCustomer(stack.bridge_url, identity=token) as first:
        assert first.welcome["customer"] is not None
        session = first.token
    # The same browser reloading the page keeps its conversation...
    async with WidgetCustomer(stack.bridge_url, token=session, identity=token) as reloaded:
        assert reloaded.conversation_id == first.conversation_id and not refused(reloaded)
    # ...another one presenting the copied token is a guest in a conversation of its own.
    async with WidgetCustomer(stack.bridge_url, identity=token) as thief:
        assert thief.welcome["customer"] is None
        assert thief.conversation_id != first.conversation_id
        assert "already used" in refused(thief)[0]


async def test_signing_out_or_in_as_someone_else_starts_afresh(stack: Stack) -> None:
    async with WidgetCustomer(stack.bridge_url, identity=sign(ANA)) as page:
        anas = page.conversation_id
        await page.say("hello")
        await page.wait_for(lambda m: m["role"] == "bot", "a greeting")
        await page.identify(None)  # the shop's logout, without a reload

        async def current() -> str:
            return page.conversation_id

        await eventually(current, lambda c: c != anas, what="a new conversation after logout")
        assert page.welcome["customer"] is None and page.messages() == []
        guest = page.conversation_id
        await page.identify(sign(TOM))  # a guest who signs in keeps their chat
        await page.say("hi")
        await page.wait_for(lambda m: m["role"] == "bot", "an answer")
        assert page.conversation_id == guest
    # Ana's session token, reused by whoever has the browser next, does not reopen her chat.
    async with WidgetCustomer(stack.bridge_url, identity=sign(TOM)) as next_user:
        assert next_user.conversation_id != anas


@pytest.fixture
async def host_page(stack: Stack) -> AsyncIterator[str]:
    """A shop page for a signed-in customer: the widget's tag carries her signed identity."""
    identity = sign(ANA)

    async def page(_: web.Request) -> web.Response:
        html = (
            "<!doctype html><title>My account - Northwind</title><h1>Hello Ana</h1>"
            f'<script src="{stack.bridge_url}/widget/widget.js" data-open '
            f'data-identity="{identity}"></script>'
        )
        return web.Response(text=html, content_type="text/html")

    app = web.Application()
    app.router.add_get("/account", page)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}/account"
    await runner.cleanup()


async def test_a_customer_signed_in_on_the_shop_resolves_her_order_in_the_browser(
    stack: Stack, browser: Browser, host_page: str
) -> None:
    Shop(stack).reset()
    page = await browser.new_page()
    try:
        await page.goto(host_page)
        await expect(page.locator('[data-testid="chat-status"]')).to_have_attribute(
            "data-state", "online", timeout=15_000
        )
        await say(page, "has my order 10236 arrived?")
        await expect(messages_by(page, "bot").last).to_contain_text(
            "Order 10236 (Running shoes) has been delivered", timeout=20_000
        )
        # Signing out on the page (no reload) clears the chat from the screen.
        await page.evaluate("SupportWidget.logout()")
        await expect(messages_by(page, "bot")).to_have_count(0, timeout=10_000)
    finally:
        await page.close()
