"""The staff page in a real browser: a newcomer replies in a thread as a staff member, and sees
messages as Slack shows them (mrkdwn, emoji, dates, reactions), customer text never as markup."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from devstack.stack import Stack
from standins.slack import SlackConfig, create_app
from standins.slack.state import BOT_NAME
from tests.support import StaffDesk, telegram_handoff

if TYPE_CHECKING:
    from playwright.async_api import Page

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


@asynccontextmanager
async def _staff_page(base: str) -> AsyncIterator[Page]:
    """The staff page in chromium, for a viewer in UTC who reads US English (dates are shown in
    the viewer's own time zone and language, as Slack shows them)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM)
        try:
            context = await browser.new_context(timezone_id="UTC", locale="en-US")
            page = await context.new_page()
            await page.goto(base)
            yield page
        finally:
            await browser.close()


# 1700000000 is Tuesday 14 November 2023, 22:13:20 UTC.
CARD_BLOCKS: list[dict[str, Any]] = [
    {"type": "header", "text": {"type": "plain_text", "text": ":new: New handoff"}},
    {"type": "section", "text": {"type": "mrkdwn", "text": ":wave: *Ana* needs a person"}},
    {
        "type": "section",
        "fields": [
            {"type": "mrkdwn", "text": "*Why:* asked for a person"},
            {
                "type": "mrkdwn",
                "text": "*Waiting since:* <!date^1700000000^{date_short} at {time}|2023-11-14>",
            },
        ],
    },
    {
        "type": "context",
        "elements": [
            {"type": "mrkdwn", "text": "<https://shop.example/orders/1001|Order 1001> for <@U0BOB>"}
        ],
    },
    {
        "type": "actions",
        "block_id": "desk",
        "elements": [
            {
                "type": "button",
                "action_id": "claim",
                "text": {"type": "plain_text", "text": ":raising_hand: Claim"},
            }
        ],
    },
]


async def test_page_renders_mrkdwn_emoji_and_dates_as_slack_does(serve: Any) -> None:
    from playwright.async_api import expect

    base = await serve(create_app(SlackConfig(signing_secret="s")))
    bot = AsyncWebClient(token="xoxb-local", base_url=f"{base}/api/")
    await bot.chat_postMessage(channel="C0STAFF", text="New handoff", blocks=CARD_BLOCKS)
    await bot.chat_postMessage(
        channel="C0STAFF",
        text="&gt; _quoted_ ~gone~ `a_b`\nsee <#C0STAFF|support>, <!here> and <https://x.example>",
    )

    async with _staff_page(base) as page:
        card = page.locator(".thread", has_text="New handoff")
        await expect(card.locator(".header-block")).to_have_text("🆕 New handoff")
        await expect(card.locator("b", has_text="Why:")).to_have_text("Why:")
        await expect(card.get_by_text("👋 Ana needs a person")).to_be_visible()
        # The date in the viewer's time zone, not the raw token or its fallback.
        await expect(card.get_by_text("Waiting since: Nov 14, 2023 at 10:13 PM")).to_be_visible()
        link = card.get_by_role("link", name="Order 1001")
        await expect(link).to_have_attribute("href", "https://shop.example/orders/1001")
        await expect(card.locator(".mention")).to_have_text("@Bob")
        await expect(card.get_by_role("button", name="🙋 Claim")).to_be_visible()

        other = page.locator(".thread", has_text="quoted")
        await expect(other.locator("blockquote i")).to_have_text("quoted")
        await expect(other.locator("s")).to_have_text("gone")
        await expect(other.locator("code")).to_have_text("a_b")
        await expect(other.locator(".mention")).to_have_text(["#support", "@here"])
        await expect(other.get_by_role("link", name="https://x.example")).to_be_visible()
        shown = await page.locator("main").inner_text()
        for raw in ("*", "<!date", "<https", ":wave:", ":new:", "&gt;", "<#C0STAFF"):
            assert raw not in shown, (raw, shown)


async def test_reactions_are_shown_with_their_counts(serve: Any) -> None:
    from playwright.async_api import expect

    base = await serve(create_app(SlackConfig(signing_secret="s")))
    bot = AsyncWebClient(token="xoxb-local", base_url=f"{base}/api/")
    alice = AsyncWebClient(token="xoxp-U0ALICE", base_url=f"{base}/api/")
    bob = AsyncWebClient(token="xoxp-U0BOB", base_url=f"{base}/api/")
    card = await bot.chat_postMessage(channel="C0STAFF", text="Card")
    reply = await alice.chat_postMessage(
        channel="C0STAFF", thread_ts=card["ts"], text="Your parcel is on its way"
    )
    note = await alice.chat_postMessage(
        channel="C0STAFF", thread_ts=card["ts"], text="!note check the address"
    )
    # The bridge's receipts: delivered (✅) on a reply, kept internal (🔒) on a note.
    await bot.reactions_add(channel="C0STAFF", timestamp=reply["ts"], name="white_check_mark")
    await bot.reactions_add(channel="C0STAFF", timestamp=note["ts"], name="lock")

    async with _staff_page(base) as page:
        replied = page.locator(".msg", has_text="Your parcel is on its way")
        await expect(replied.locator(".reaction")).to_have_text(["✅ 1"])
        noted = page.locator(".msg", has_text="!note check the address")
        await expect(noted.locator(".reaction")).to_have_text(["🔒 1"])
        # A reaction added while the page is open shows up, with the count Slack would show.
        await bob.reactions_add(channel="C0STAFF", timestamp=reply["ts"], name="white_check_mark")
        await bob.reactions_add(channel="C0STAFF", timestamp=reply["ts"], name="no_such_emoji")
        await expect(replied.locator(".reaction")).to_have_text(["✅ 2", ":no_such_emoji: 1"])
        title = await replied.locator(".reaction").first.get_attribute("title")
        assert title == f"{BOT_NAME}, Bob reacted with :white_check_mark:"


async def test_customer_html_is_shown_as_text_and_never_run(serve: Any) -> None:
    from playwright.async_api import expect

    base = await serve(create_app(SlackConfig(signing_secret="s")))
    bot = AsyncWebClient(token="xoxb-local", base_url=f"{base}/api/")
    # As the bridge posts a customer's words: escaped (bridge/platforms/slack/mrkdwn.py).
    said = '<img src=x onerror="window.pwned=1"> <script>window.pwned=2</script> *hi*'
    escaped = said.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    await bot.chat_postMessage(channel="C0STAFF", text=f"*Customer:* {escaped}")
    # And text that is not escaped at all, with a link to a script and a forged attribute.
    await bot.chat_postMessage(
        channel="C0STAFF",
        text="<img src=x onerror=window.pwned=3> <javascript:window.pwned=4|click me> "
        '<https://x.example/" onmouseover="window.pwned=5|label>',
    )

    async with _staff_page(base) as page:
        await expect(page.get_by_text(f"Customer: {said.replace('*hi*', 'hi')}")).to_be_visible()
        await expect(page.locator("main b", has_text="hi")).to_have_count(1)
        raw = page.locator(".thread", has_text="javascript:")
        await expect(raw).to_contain_text("<img src=x onerror=window.pwned=3>")
        await expect(raw).to_contain_text("<javascript:window.pwned=4|click me>")
        await expect(raw.get_by_role("link")).to_have_count(1)
        await raw.get_by_role("link", name="label").hover()
        assert await page.locator("main img, main script, main [onerror]").count() == 0
        assert await page.evaluate("window.pwned") is None


async def test_every_date_token_in_the_viewers_time(serve: Any) -> None:
    """Slack's `<!date>` tokens, for a viewer in UTC reading US English."""
    base = await serve(create_app(SlackConfig(signing_secret="s")))
    async with _staff_page(base) as page:
        shown = await page.evaluate(
            """() => {
                const now = new Date(Date.UTC(2023, 10, 15, 9, 0, 0));  // the next morning
                const tokens = ["date_num", "date", "date_short", "date_long", "date_pretty",
                                "date_short_pretty", "date_long_pretty", "time", "time_secs",
                                "ago"];
                const out = {};
                for (const t of tokens) out[t] = mrkdwn.formatDate("1700000000", `{${t}}`, now);
                out.days_later = mrkdwn.formatDate("1700600000", "{date_pretty}", now);
                out.unknown = mrkdwn.formatDate("1700000000", "{weekday}", now);
                out.not_a_time = mrkdwn.formatDate("soon", "{date}", now);
                out.fallback = mrkdwn.toHtml("<!date^soon^{date}|some day>");
                out.linked = mrkdwn.toHtml("<!date^1700000000^{date_num}^https://x.example|d>");
                return out;
            }"""
        )
    assert shown == {
        "date_num": "2023-11-14",
        "date": "November 14th, 2023",
        "date_short": "Nov 14, 2023",
        "date_long": "Tuesday, November 14th, 2023",
        "date_pretty": "Yesterday",
        "date_short_pretty": "Yesterday",
        "date_long_pretty": "Yesterday",
        "time": "10:13 PM",
        "time_secs": "10:13:20 PM",
        "ago": "11 hours ago",
        "days_later": "November 21st, 2023",
        "unknown": None,
        "not_a_time": None,
        "fallback": "<time>some day</time>",
        "linked": '<a href="https://x.example" target="_blank" rel="noopener noreferrer">'
        "2023-11-14</a>",
    }


async def test_the_whole_product_on_the_page_card_reply_and_receipts(
    stack: Stack, chat_id: int
) -> None:
    """`make run`'s staff page: the bridge's card reads as in Slack, and a reply typed on the
    page gets the ✅ receipt once the customer has it; a note gets the 🔒."""
    from playwright.async_api import expect

    customer, _ = await telegram_handoff(
        stack.telegram_url, StaffDesk(stack.slack_url), chat_id, "Ines"
    )
    async with _staff_page(stack.slack_url) as page:
        thread = page.locator(".thread", has_text=f"tg-{chat_id}")
        card = thread.locator(".msg").first
        await expect(card).to_contain_text("👋")
        await expect(card.locator("b", has_text="Why")).to_be_visible()
        await expect(card.locator("time")).to_have_count(1)
        for raw in ("<!date", ":wave:", "*Why"):
            await expect(card).not_to_contain_text(raw)

        await page.get_by_label("Acting as").select_option("U0ALICE")
        box = thread.get_by_label("Reply in thread")
        await box.fill("Your parcel left the warehouse today")
        await thread.get_by_role("button", name="Reply").click()
        await customer.wait_for(lambda t: "parcel left the warehouse today" in t, "the reply")
        reply = thread.locator(".replies .msg", has_text="Your parcel left the warehouse today")
        await expect(reply.locator(".reaction")).to_have_text(["✅ 1"])

        await box.fill("!note asked twice already")
        await thread.get_by_role("button", name="Reply").click()
        note = thread.locator(".replies .msg", has_text="!note asked twice already")
        await expect(note.locator(".reaction")).to_have_text(["🔒 1"])
