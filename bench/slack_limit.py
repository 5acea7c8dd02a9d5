"""5. Slack channel limit: simultaneous handoffs into one staff channel while the local Slack
enforces 1 chat.postMessage per second per channel (429 + Retry-After beyond that).

All customers ask for a person at the same moment. Counted at the local Slack: when each post
was accepted (its `ts`), whether every thread is complete (the opening post names the
conversation, the reason and the customer's words; read back through the real slack_sdk
client), whether every customer was told, and what is left in the dead-letter stream.
Throughput = accepted posts / time from the first to the last. Runs on an empty Redis and a
fresh local Slack, so nothing left by earlier measurements competes for the channel.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

import aiohttp
from redis.asyncio import Redis
from slack_sdk.web.async_client import AsyncWebClient

from bridge import keys

from .harness import HANDOFF_TEXT, STAFF_CHANNEL, BenchStack, Post, is_role, open_widget, say
from .stats import median, ratio

LIMIT_PER_S = 1.0


async def _thread_text(slack: AsyncWebClient, ts: str) -> str:
    response = await slack.conversations_replies(channel=STAFF_CHANNEL, ts=ts, limit=1000)
    return "\n".join(str(m.get("text", "")) for m in response["messages"])


async def run(bench: BenchStack, handoffs: int) -> dict[str, Any]:
    await bench.fresh_state(slack_rate_limit=True)
    log_offset = bench.bridge_log.stat().st_size
    redis = Redis.from_url(bench.stack.redis_url, decode_responses=True)
    slack = AsyncWebClient(token="xoxb-local-bot", base_url=f"{bench.stack.slack_url}/api/")
    dead_before = await redis.xlen(keys.DEAD_LETTERS)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        sockets = await asyncio.gather(*(open_widget(http, bench.ws_url) for _ in range(handoffs)))
        posted = {s.conversation_id: bench.sink.wait_for_post(s.conversation_id) for s in sockets}
        told = [s.expect(is_role("system")) for s in sockets]
        first_post = len(bench.sink.posts)
        started = time.time()
        await asyncio.gather(*(say(s, HANDOFF_TEXT) for s in sockets))
        # A handoff may take several posts (opening card, transcript…): wait for up to three
        # each at the limit, plus a minute; the figures say how long it really took.
        budget_s = handoffs * 3 / LIMIT_PER_S + 60
        waits: list[asyncio.Future[Any]] = [*posted.values(), *told]
        await asyncio.wait(waits, timeout=budget_s)
        opened: dict[str, Post] = {c: f.result() for c, f in posted.items() if f.done()}
        customers_told = sum(1 for f in told if f.done())
        for socket in sockets:
            await socket.close()
    complete = 0
    for conversation_id, post in opened.items():
        text = await _thread_text(slack, f"{post.ts:.6f}")
        if conversation_id in text and HANDOFF_TEXT in text and "asked for a person" in text:
            complete += 1
    phase_posts: list[Post] = bench.sink.posts[first_post:]
    times = sorted(p.ts for p in phase_posts)
    span = times[-1] - times[0] if len(times) > 1 else float("nan")
    throughput = (len(times) - 1) / span if len(times) > 1 else 0.0
    gaps = [b - a for a, b in itertools.pairwise(times)]
    dead = await redis.xlen(keys.DEAD_LETTERS) - dead_before
    await redis.aclose()
    with bench.bridge_log.open("rb") as log:
        log.seek(log_offset)
        rate_limited = sum(1 for line in log if b"429" in line)
    last_open = max((p.ts for p in opened.values()), default=float("nan"))
    return {
        "handoffs": handoffs,
        "limit_per_s": LIMIT_PER_S,
        "threads_opened": len(opened),
        "threads_complete": complete,
        "lost": handoffs - complete,
        "customers_told": customers_told,
        "dead_letters": dead,
        "posts_accepted": len(times),
        "posts_per_thread": round(len(times) / max(1, len(opened)), 2),
        "throughput_per_s": round(throughput, 3),
        "throughput_vs_limit": ratio(throughput, LIMIT_PER_S),
        "median_gap_s": round(median(gaps), 3) if gaps else None,
        "last_thread_after_s": round(last_open - started, 1),
        "rate_limited_log_lines": rate_limited,
        "post_times_s": [round(t - started, 3) for t in times],
        "target": {"lost": 0, "throughput_vs_limit_min": 0.9},
        "met": complete == handoffs and throughput / LIMIT_PER_S >= 0.9,
    }
