"""`make review`: what the bot could not handle, with staff marks from Slack, as NLU YAML."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import aiohttp
from redis.asyncio import Redis

from bridge import keys
from devstack.stack import Stack
from tests.desk.helpers import Desk
from tests.learning.conftest import RASA_PYTHON, tool
from tests.support import STAFF_CHANNEL, TelegramCustomer, eventually

NOTICE = "person from our team"


async def _posted(desk: Desk, thread_ts: str, needle: str) -> str:
    """The ts of the customer's line containing `needle`, once the bridge posted it."""
    posts = await eventually(
        lambda: desk.thread(thread_ts),
        lambda ms: any(needle in m.get("text", "") for m in ms),
        what=f"the customer's line {needle!r} in the thread",
    )
    return str(next(m["ts"] for m in posts if needle in m.get("text", "")))


async def test_review_file_lists_misses_handoffs_and_staff_marks(
    stack: Stack, chat_id: int, tmp_path: Path
) -> None:
    desk = Desk(stack.slack_url)
    customer = TelegramCustomer(stack.telegram_url, chat_id, first_name="Ines")
    await customer.say("Who won the football world cup in 1966?")
    await customer.wait_for(lambda t: "can't help" in t, "an abstention")
    await customer.say("what is the airspeed of an unladen swallow")
    await customer.wait_for(lambda t: NOTICE in t, "the handoff after two misses")
    thread_ts = await desk.wait_for_thread(f"tg-{chat_id}")
    await desk.reply(thread_ts, "We only help with orders from our shop, sorry!")
    await customer.wait_for(lambda t: "only help with orders" in t, "the staff reply")

    # A message after the handoff: staff mark it with 🤖 and name the intent in the thread.
    await customer.say("the zip on my new jacket broke after one day")
    zip_ts = await _posted(desk, thread_ts, "zip on my new jacket")
    await desk.person.reactions_add(channel=STAFF_CHANNEL, timestamp=zip_ts, name="robot_face")
    await desk.reply(thread_ts, "!intent complaint")
    await eventually(
        lambda: desk.thread_text(thread_ts),
        lambda text: "Marked for review" in text and "`complaint`" in text,
        what="the bridge confirming the mark",
    )
    # A command is for the team: the customer never sees it.
    assert not any("!intent" in t for t in await customer.texts())
    # The bridge answered Slack's delivery of the command with a 2xx: no retries.
    replies = await desk.thread(thread_ts)
    command_ts = next(m["ts"] for m in replies if m.get("text") == "!intent complaint")
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{stack.slack_url}/_test/deliveries") as response,
    ):
        deliveries = [d for d in await response.json() if d["ts"] == command_ts]
    assert [(d["status"], d["attempts"]) for d in deliveries] == [("delivered", 1)], deliveries

    # Another staff member marks a later message as a new topic with a reaction alone.
    bob = Desk(stack.slack_url, user="U0BOB")
    await customer.say("do you sell gift cards for the outlet stores")
    gift_ts = await _posted(desk, thread_ts, "gift cards")
    await bob.person.reactions_add(channel=STAFF_CHANNEL, timestamp=gift_ts, name="new")
    redis = Redis.from_url(stack.redis_url, decode_responses=True)
    try:
        await eventually(
            lambda: redis.hget(keys.marks(f"tg-{chat_id}"), gift_ts),
            lambda raw: raw is not None,
            what="Bob's mark stored",
        )
    finally:
        await redis.aclose()

    out = tmp_path / "candidates.yml"
    done = await asyncio.to_thread(tool, stack, "tools.review", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "candidates" in done.stdout
    review = out.read_text()
    assert "NOT training data" in review
    conversation = f"conversation tg-{chat_id} | telegram"
    lines = review.splitlines()

    def comments_of(text: str) -> str:
        at = next(i for i, line in enumerate(lines) if text in line and "- text:" in line)
        start = at
        while start > 0 and lines[start - 1].lstrip().startswith("#"):
            start -= 1
        return "\n".join(lines[start:at])

    assert "abstain | " + conversation in comments_of("football world cup in 1966")
    handoff = comments_of("unladen swallow")
    assert "handoff (repeated_miss) | " + conversation in handoff
    assert 'staff: "We only help with orders from our shop, sorry!"' in handoff
    marked = comments_of("zip on my new jacket")
    # Staff are named as Slack shows them, with their user id.
    assert "suggested: complaint (staff mark)" in marked
    assert "staff mark by Alice (U0ALICE)" in marked
    gift = comments_of("gift cards for the outlet")
    assert "suggested: new_topic (staff marked a new topic)" in gift, gift
    assert "staff mark by Bob (U0BOB)" in gift
    zip_line = next(i for i, line in enumerate(lines) if "zip on my new jacket" in line)
    assert (
        "- intent: complaint" in [ln for ln in lines[:zip_line] if ln.startswith("- intent:")][-1]
    )

    # It is valid Rasa NLU data (training reads data/nlu and data/rules.yml, not data/review).
    check = await asyncio.to_thread(
        subprocess.run,
        [
            str(RASA_PYTHON),
            "-c",
            "import sys; from rasa.shared.nlu.training_data.loading "
            "import load_data; print(len(load_data(sys.argv[1]).training_examples))",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert check.returncode == 0, check.stderr
    assert int(check.stdout.strip().splitlines()[-1]) >= 3


async def test_same_question_twice_is_one_candidate_seen_twice(
    stack: Stack, chat_id: int, tmp_path: Path
) -> None:
    first = TelegramCustomer(stack.telegram_url, chat_id, first_name="Jon")
    second = TelegramCustomer(stack.telegram_url, chat_id + 50_000, first_name="Kim")
    await first.say("Can you recommend a good hiking trail near Lyon?")
    await second.say("can you recommend a good hiking trail near lyon")
    for customer in (first, second):
        await customer.wait_for(lambda t: "can't help" in t, "an abstention")

    out = tmp_path / "candidates.yml"
    done = await asyncio.to_thread(tool, stack, "tools.review", "--out", str(out))
    assert done.returncode == 0, done.stderr
    review = out.read_text()
    assert review.lower().count("hiking trail near lyon") == 1, review
    assert f"tg-{chat_id} " in review and f"tg-{chat_id + 50_000} " in review
