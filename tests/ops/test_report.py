"""`make report` and `make digest` on a seeded run (issue 19): the real product on a Redis
database of its own (the stack's server, its own stand-ins, the stack's Rasa), conversations
scripted on both channels, staff replies, closes and ratings; the report's figures must be what
was scripted, its page must open in Chromium without console errors, and the digest must reach
the local Slack with its chart."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Browser, async_playwright
from redis.asyncio import Redis
from slack_sdk.web.async_client import AsyncWebClient

from bridge import keys
from bridge.observability import timeline
from devstack.stack import ONE_ADDRESS_FOR_MANY_CUSTOMERS, Stack
from tests.conftest import ARTIFACTS
from tests.desk.helpers import Desk, WidgetCustomer
from tests.e2e.conftest import CHROMIUM_ARGS
from tests.support import TelegramCustomer, eventually

ROOT = Path(__file__).resolve().parents[2]
REDIS_DB = 13
PAYMENTS = "what payment methods do you accept?"
GIFT_CARDS = "do you sell gift cards?"
PERSON = "I want to talk to a person"
COMPLAINT = "I want to make a complaint"
JAPANESE = "注文した商品はいつ届きますか？まだ発送されていないようです"


@pytest.fixture
async def own_db(stack: Stack) -> AsyncIterator[str]:
    url = stack.redis_url.rsplit("/", 1)[0] + f"/{REDIS_DB}"
    redis = Redis.from_url(url)
    await redis.flushdb()
    yield url
    await redis.flushdb()
    await redis.aclose()


@pytest.fixture
async def chromium() -> AsyncIterator[Browser]:
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


def tool_env(run: Stack) -> dict[str, str]:
    """The tools' configuration: this run's Slack, nothing from .env or .run/local.env."""
    return {
        **os.environ,
        "BRIDGE_ENV_FILE": os.devnull,
        "SLACK_BOT_TOKEN": "xoxb-local-bot",
        "SLACK_API_URL": f"{run.slack_url}/api/",
        "OFFICE_DAYS": "",  # always open: every handoff is "always open"
    }


def run_tool(module: str, env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


async def _widget_handoff(run: Stack, desk: Desk, said: str) -> tuple[WidgetCustomer, str]:
    customer = WidgetCustomer(run.bridge_url)
    await customer.__aenter__()
    await customer.say(said)
    return customer, await desk.wait_for_thread(customer.conversation_id)


async def _telegram_handoff(
    run: Stack, desk: Desk, chat_id: int, said: str
) -> tuple[TelegramCustomer, str]:
    customer = TelegramCustomer(run.telegram_url, chat_id, first_name=f"C{chat_id}")
    await customer.say(said)
    return customer, await desk.wait_for_thread(f"tg-{chat_id}")


@contextmanager
def own_stack(stack: Stack, run_dir: Path, redis_url: str) -> Iterator[Stack]:
    """The product on our own database of the stack's Redis server, with stand-ins of its own
    (so the desk's events reach this bridge), sharing the stack's Rasa."""
    run = Stack(
        run_dir,
        redis_url=redis_url,
        bridge_env=dict(ONE_ADDRESS_FOR_MANY_CUSTOMERS),
        slack_mode=stack.slack_mode,
        telegram_mode=stack.telegram_mode,
        rasa_of=stack,
    )
    try:
        run.start()
        yield run
    finally:
        run.stop()


async def test_a_seeded_run_reports_what_was_scripted(
    stack: Stack, own_db: str, tmp_path: Path, chromium: Browser
) -> None:
    with own_stack(stack, tmp_path, own_db) as run:
        await _seed_and_check(run, own_db, tmp_path, chromium)


async def _seed_and_check(run: Stack, redis_url: str, tmp_path: Path, chromium: Browser) -> None:
    desk = Desk(run.slack_url)
    chat = 7_000_000 + time.time_ns() % 1_000_000

    # 1, 2. Resolved by the bot, one per channel (the widget one also abstains on gift cards).
    async with WidgetCustomer(run.bridge_url) as bot_widget:
        await bot_widget.say(PAYMENTS)
        await bot_widget.wait_for(lambda m: "paypal" in m["text"].lower(), "the answer")
        await bot_widget.say(GIFT_CARDS)
        await bot_widget.wait_for(lambda m: "can't help" in m["text"], "the abstention")
    bot_telegram = TelegramCustomer(run.telegram_url, chat, first_name="Bo")
    await bot_telegram.say(PAYMENTS)
    await bot_telegram.wait_for(lambda t: "paypal" in t.lower(), "the answer on Telegram")

    # 3-6. Handed over: Telegram asks for a person first, then the widget; a complaint (web);
    # a language the bot does not answer (Telegram).
    tg_person, tg_card = await _telegram_handoff(run, desk, chat + 1, PERSON)
    web_person, web_card = await _widget_handoff(run, desk, PERSON)
    complaint, _ = await _widget_handoff(run, desk, COMPLAINT)
    await _telegram_handoff(run, desk, chat + 2, JAPANESE)

    # Staff answer the widget first, then Telegram: Telegram waited longer.
    await desk.say(web_card, "Hello, how can I help?")
    await web_person.wait_for(lambda m: "how can I help" in m["text"], "the staff reply")
    await desk.say(tg_card, "Hello from the desk")
    await tg_person.wait_for(lambda t: "Hello from the desk" in t, "the staff reply")

    # Both closed and rated: the widget great, Telegram poor.
    await desk.click(web_card, "desk_close")
    await web_person.wait_for(lambda m: "How would you rate" in m["text"], "the question")
    await web_person.say("😀 Great", payload="/csat_great")
    await web_person.wait_for(lambda m: "Thank you for telling us" in m["text"], "the thanks")
    await desk.click(tg_card, "desk_close")
    prompt = await eventually(
        tg_person.received,
        lambda ms: any(m.get("reply_markup") for m in ms if "How would you rate" in m["text"]),
        what="the satisfaction question",
    )
    question = next(m for m in prompt if "How would you rate" in m["text"])
    await tg_person.tap(question["message_id"], "/csat_poor")
    await tg_person.wait_for(lambda t: "Thank you for telling us" in t, "the thanks")
    for customer in (web_person, complaint):
        await customer.__aexit__()

    # The timeline kept the handoff and the close on the record (what the report reads).
    redis = Redis.from_url(redis_url, decode_responses=True)
    raw = await redis.hget(keys.conversation(web_person.conversation_id), timeline.HISTORY)
    await redis.aclose()
    assert [e["e"] for e in json.loads(raw or "[]")] == ["handoff", "closed"]

    out = tmp_path / "report"
    env = tool_env(run)
    printed = run_tool(
        "tools.report", env, "--since", "1d", "--out", str(out), "--redis-url", redis_url
    )
    assert "6 conversations" in printed
    figures = json.loads((out / "figures.json").read_text())
    (ARTIFACTS / "report").mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "report" / "figures.json").write_text(json.dumps(figures, indent=2))

    assert figures["conversations"] == 6
    assert figures["by_channel"] == {"telegram": 3, "widget": 3}
    assert sum(sum(day.values()) for day in figures["per_day"].values()) == 6
    assert (figures["by_bot"], figures["to_person"]) == (2, 4)
    assert figures["reasons"] == {"explicit_request": 2, "complaint": 1, "language": 1}
    assert figures["ratings"] == {"great": 1, "poor": 1}
    waits = {h["channel"] + ":" + h["reason"]: h for h in figures["handoffs"]}
    web, tg = waits["widget:explicit_request"], waits["telegram:explicit_request"]
    assert 0 < web["first_reply_s"] < tg["first_reply_s"] < 120
    assert web["close_s"] is not None and tg["close_s"] is not None
    assert web["first_reply_s"] <= web["close_s"] and tg["first_reply_s"] <= tg["close_s"]
    assert figures["first_reply"]["count"] == 2 and figures["unanswered"] == 2
    assert figures["close"]["count"] == 2
    assert figures["first_reply"]["p90_s"] == tg["first_reply_s"]
    assert list(figures["first_reply_office"]) == ["always open"]
    # What went as designed (a request for a person, a language) is no failing topic.
    failing = [example for topic in figures["failing"] for example in topic["examples"]]
    assert sorted(failing) == sorted([GIFT_CARDS, COMPLAINT]), figures["failing"]
    for name in ("conversations_per_day", "outcomes", "waits", "satisfaction", "failing_topics"):
        assert (out / f"{name}.png").read_bytes().startswith(b"\x89PNG")

    # The page, in Chromium: no console errors, the figures readable as text.
    page = await chromium.new_page(java_script_enabled=False)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
    await page.goto((out / "index.html").as_uri())
    body = await page.inner_text("body")
    for text in (
        "Support report",
        "asked for a person",
        "complaint",
        "language",
        GIFT_CARDS,
        "review/candidates.yml",
        "30 days after its last message",
    ):
        assert text in body, text
    assert await page.locator("img").count() == 5
    await page.screenshot(path=str(ARTIFACTS / "report" / "report.png"), full_page=True)
    await page.close()
    assert problems == []

    # The digest, into a channel a person created (the app's manifest has no channels:manage).
    alice = AsyncWebClient(token="xoxp-U0ALICE", base_url=f"{run.slack_url}/api/")
    channel = (await alice.conversations_create(name=f"digest-{time.time_ns()}"))["channel"]["id"]
    printed = run_tool(
        "tools.report.digest",
        env | {"DIGEST_CHANNEL": channel},
        "--since",
        "1d",
        "--redis-url",
        redis_url,
    )
    assert f"digest posted to {channel}" in printed
    history = await alice.conversations_history(channel=channel)
    posts = history["messages"]
    assert len(posts) == 1, posts
    post = posts[0]
    assert "Support digest" in post["text"] and "conversations: *6*" in post["text"], post
    assert [f["name"] for f in post.get("files", [])] == ["outcomes.png"], post
    async with aiohttp.ClientSession() as http:
        url = post["files"][0]["url_private"]
        async with http.get(url, headers={"Authorization": "Bearer xoxp-U0ALICE"}) as got:
            assert got.status == 200
            assert (await got.read()).startswith(b"\x89PNG")
