"""A Slack post that gets no answer may still have been made: the bridge looks before it sends
again, part by part for a long message (docs/faults.md). The local Slack takes the post, then
holds its answer past the bridge's Slack timeout (10 s by default)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import aiohttp

from tests.reliability.conftest import Replicas
from tests.support import StaffDesk, TelegramCustomer, eventually

CHAT = 770_001
# Two customer messages long enough to be posted in two parts each (3,500 characters a post).
WORDS = 420


def long_message(tag: str) -> str:
    return " ".join(f"{tag}{n:03d}" for n in range(1, WORDS + 1))  # ~4,200 characters


async def hang(replicas: Replicas, text: str) -> None:
    body = {"method": "chat.postMessage", "hang": "after", "text": text, "seconds": 40}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{replicas.slack_url}/_test/faults", json=body) as response,
    ):
        assert response.status == 200, await response.text()


def counts(tag: str, posts: list[str]) -> list[int]:
    found = [int(n) for p in posts for n in re.findall(rf"\b{tag}(\d{{3}})\b", p)]
    return [found.count(n) for n in range(1, WORDS + 1)]


async def test_a_long_message_whose_parts_got_no_answer_is_not_posted_twice(
    replicas_factory: Callable[..., Any],
) -> None:
    replicas: Replicas = await replicas_factory(7, count=1, events_to=0, telegram=True)
    customer = TelegramCustomer(replicas.telegram_url, CHAT, first_name="Pia")
    desk = StaffDesk(replicas.slack_url)
    await customer.say("let me talk to a real person")
    await customer.wait_for(lambda t: "person from our team" in t, "the handoff notice")
    thread_ts = await desk.wait_for_thread(f"tg-{CHAT}")

    async def posts() -> list[str]:
        return [m.get("text", "") for m in await desk.thread(thread_ts) if m["ts"] != thread_ts]

    # First part taken, no answer: after the timeout only the second part is posted.
    await hang(replicas, "first001 ")
    await customer.say(long_message("first"))
    await eventually(posts, lambda ps: any("first001" in p for p in ps), what="part 1 taken")
    # Second part taken, no answer: after the timeout nothing is posted again.
    await hang(replicas, f"second{WORDS:03d}")
    await customer.say(long_message("second"))
    await customer.say("after-both")
    seen = await eventually(
        posts, lambda ps: any("after-both" in p for p in ps), timeout_s=90, what="every message"
    )
    assert counts("first", seen) == [1] * WORDS
    assert counts("second", seen) == [1] * WORDS
    assert sum("after-both" in p for p in seen) == 1
