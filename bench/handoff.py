"""3. Handoff: "talk to a person" on a fresh widget conversation until the thread's opening post
is accepted by the local Slack (its `ts`, a wall-clock time, against the wall-clock send time),
one handoff at a time, with the local Slack's rate limit off. Also timed: the customer's notice.

Handoffs start `SPACING_S` apart. A handoff makes two posts (the card, then the transcript) and
the bridge paces posts into the staff channel at about one per second, so handoffs sent back to
back would measure the queue behind that limit (measurement 5 does) rather than the handoff.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp

from .harness import HANDOFF_TEXT, BenchStack, is_role, open_widget, say
from .stats import over_repeats, summary_ms

# Two posts per handoff at the bridge's default 1.05 s spacing, plus a margin.
SPACING_S = 2.5


async def _one(http: aiohttp.ClientSession, bench: BenchStack) -> tuple[float, float]:
    socket = await open_widget(http, bench.ws_url)
    try:
        posted = bench.sink.wait_for_post(socket.conversation_id)
        notice = socket.expect(is_role("system"))
        wall = time.time()
        sent = await say(socket, HANDOFF_TEXT)
        post = await asyncio.wait_for(posted, 30)
        told = await asyncio.wait_for(notice, 30)
        return post.ts - wall, told - sent
    finally:
        await socket.close()


async def run(bench: BenchStack, repeats: int, handoffs: int) -> dict[str, Any]:
    results: list[dict[str, Any]] = []
    async with aiohttp.ClientSession() as http:
        await _one(http, bench)  # warm-up
        for _ in range(repeats):
            to_slack: list[float] = []
            to_customer: list[float] = []
            next_start = time.monotonic()
            for _ in range(handoffs):
                # Arrival pacing (a load shape, not synchronisation): see SPACING_S.
                await asyncio.sleep(max(0.0, next_start - time.monotonic()))
                next_start = time.monotonic() + SPACING_S
                slack_s, notice_s = await _one(http, bench)
                to_slack.append(slack_s)
                to_customer.append(notice_s)
            s, c = summary_ms(to_slack), summary_ms(to_customer)
            results.append(
                {
                    "thread_posted": s,
                    "customer_notice": c,
                    "p50_ms": s["p50_ms"],
                    "p99_ms": s["p99_ms"],
                    "notice_p50_ms": c["p50_ms"],
                    "notice_p99_ms": c["p99_ms"],
                }
            )
    return {
        "handoffs_per_repeat": handoffs,
        "spacing_s": SPACING_S,
        "repeats": results,
        "median": over_repeats(results, "p50_ms", "p99_ms", "notice_p50_ms", "notice_p99_ms"),
    }
