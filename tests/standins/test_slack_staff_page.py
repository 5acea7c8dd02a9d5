"""The staff page in a real browser: a newcomer replies in a thread as a staff member."""

from __future__ import annotations

import json
import shutil
from typing import Any

from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from standins.slack import SlackConfig, create_app

# CI installs Debian's chromium; without it this test must fail, not hide behind a skip.
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"


async def test_staff_reply_from_the_page_reaches_the_bridge(serve: Any, receiver: Any) -> None:
    from playwright.async_api import async_playwright, expect

    rec, url = receiver
    base = await serve(create_app(SlackConfig(signing_secret="s", events_url=url)))
    bot = AsyncWebClient(token="xoxb-local", base_url=f"{base}/api/")
    parent = await bot.chat_postMessage(
        channel="C0STAFF", text="Customer: is 2 &lt; 3? &lt;script&gt;alert(1)&lt;/script&gt;"
    )
    await rec.wait_for(1)

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM)
        try:
            page = await browser.new_page()
            await page.goto(base)
            # Slack's escaping is undone for display, and shown as text, not markup.
            await expect(
                page.get_by_text("Customer: is 2 < 3? <script>alert(1)</script>")
            ).to_be_visible()
            await page.get_by_label("Acting as").select_option("U0BOB")
            await page.get_by_label("Reply in thread").fill("Yes, 2 < 3 & we're on it")
            await page.get_by_role("button", name="Reply").click()
            await expect(page.get_by_text("Yes, 2 < 3 & we're on it")).to_be_visible()
        finally:
            await browser.close()

    reply = (await rec.wait_for(2))[1]
    assert SignatureVerifier("s").is_valid_request(reply.body, reply.headers)
    event = json.loads(reply.body)["event"]
    # Like the Slack client, the page escapes what the person typed.
    assert (event["user"], event["thread_ts"]) == ("U0BOB", parent["ts"])
    assert event["text"] == "Yes, 2 &lt; 3 &amp; we're on it"
