"""Photos and files both ways: customer → thread, staff attachment → customer."""

from __future__ import annotations

import base64

import aiohttp
from playwright.async_api import Browser, expect

from devstack.stack import Stack
from tests.desk.helpers import Desk, WidgetCustomer
from tests.support import STAFF_CHANNEL, TelegramCustomer, eventually, telegram_handoff
from tests.widget_page import ask_for_a_person

# A 2x1 PNG header is enough for both stand-ins to call it an image.
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR\x00\x00\x00\x02\x00\x00\x00\x01" + b"\x00" * 40


async def _send_photo(customer: TelegramCustomer, caption: str) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{customer.base_url}/_test/customer/photo",
            json={
                "chat_id": customer.chat_id,
                "image_base64": base64.b64encode(PNG).decode(),
                "caption": caption,
            },
        ) as response,
    ):
        assert response.status == 200, await response.text()


async def _download(url: str, token: str = "xoxb-local-bot") -> bytes:
    async with (
        aiohttp.ClientSession() as http,
        http.get(url, headers={"Authorization": f"Bearer {token}"}) as response,
    ):
        return await response.read()


async def test_customer_photo_on_telegram_appears_in_the_thread(stack: Stack, chat_id: int) -> None:
    desk = Desk(stack.slack_url)
    customer, card_ts = await telegram_handoff(stack.telegram_url, desk, chat_id, "Quinn")
    await _send_photo(customer, "the box was crushed")
    replies = await eventually(
        lambda: desk.thread(card_ts),
        lambda ms: any(m.get("files") for m in ms),
        what="the photo in the thread",
    )
    post = next(m for m in replies if m.get("files"))
    assert "📷 Photo: the box was crushed" in post["text"]
    assert await _download(post["files"][0]["url_private"]) == PNG


async def test_photo_to_the_bot_offers_a_person(stack: Stack, chat_id: int) -> None:
    customer = TelegramCustomer(stack.telegram_url, chat_id, first_name="Rae")
    await _send_photo(customer, "what is this?")
    received = await eventually(
        customer.received,
        lambda ms: any("can't look at photos" in m["text"] for m in ms),
        what="the offer of a person",
    )
    offer = next(m for m in received if "can't look at photos" in m["text"])
    assert offer["reply_markup"]["inline_keyboard"][0][0]["text"] == "Talk to a person"


async def test_staff_attachment_reaches_telegram_and_the_widget(stack: Stack, chat_id: int) -> None:
    desk = Desk(stack.slack_url)
    customer, card_ts = await telegram_handoff(stack.telegram_url, desk, chat_id, "Sam")
    upload = await desk.person.files_upload_v2(
        channel=STAFF_CHANNEL,
        thread_ts=card_ts,
        file=PNG,
        filename="label.png",
        initial_comment="Here is your return label.",
    )
    received = await eventually(
        customer.received, lambda ms: any(m["photo"] for m in ms), what="the photo on Telegram"
    )
    photo = next(m for m in received if m["photo"])
    assert photo["text"] == "Alice: Here is your return label."
    shared_ts = next(
        m["ts"] for m in await desk.thread(card_ts) if m.get("files") and not m.get("bot_id")
    )
    await eventually(
        lambda: desk.reactions(card_ts, shared_ts),
        lambda rs: "white_check_mark" in rs,
        what="the receipt on the file",
    )
    assert upload["file"]["name"] == "label.png"

    async with WidgetCustomer(stack.bridge_url) as visitor:
        await visitor.say("I want to talk to a person")
        await visitor.wait_for(lambda m: "person from our team" in m["text"], "handoff notice")
        widget_card = await desk.wait_for_thread(visitor.conversation_id)
        await desk.person.files_upload_v2(
            channel=STAFF_CHANNEL,
            thread_ts=widget_card,
            file=b"%PDF-1.4 invoice",
            filename="invoice.pdf",
        )
        message = await visitor.wait_for(lambda m: "file" in m, "the file on the widget")
        assert message["file"]["name"] == "invoice.pdf" and message["role"] == "staff"
        async with (
            aiohttp.ClientSession() as http,
            http.get(stack.bridge_url + message["file"]["url"]) as response,
        ):
            assert await response.read() == b"%PDF-1.4 invoice"
            assert response.headers["Content-Disposition"] == "attachment"


async def test_widget_customer_attaches_a_photo_in_the_browser(
    stack: Stack, browser: Browser
) -> None:
    desk = Desk(stack.slack_url)
    context = await browser.new_context()
    page = await context.new_page()
    card_ts = await desk.wait_for_thread(await ask_for_a_person(page, stack.bridge_url))

    await page.locator('[data-testid="chat-input"]').fill("this is the damage")
    await page.locator('[data-testid="chat-file-input"]').set_input_files(
        {"name": "damage.png", "mimeType": "image/png", "buffer": PNG}
    )
    # The customer sees their photo in the conversation...
    mine = page.locator('[data-testid="chat-message"][data-role="customer"]').last
    await expect(mine).to_contain_text("📷 Photo: this is the damage", timeout=20_000)
    await expect(mine.locator('[data-testid="chat-file"] img')).to_be_visible()
    # ...and staff get it in the thread.
    replies = await eventually(
        lambda: desk.thread(card_ts),
        lambda ms: any(m.get("files") for m in ms),
        what="the photo in the thread",
    )
    post = next(m for m in replies if m.get("files"))
    assert "this is the damage" in post["text"]
    assert await _download(post["files"][0]["url_private"]) == PNG
    await context.close()
