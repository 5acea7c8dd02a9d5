"""1. Bot turn: a customer message until the bot's reply, through the bridge's widget WebSocket
versus the same message posted straight to Rasa's REST channel.

Every turn uses a fresh conversation (a new widget session, a new Rasa sender id); the socket is
opened before the clock starts, as the Rasa side reuses a kept-alive HTTP connection. The two
paths alternate turn by turn so drift on the noisy machine hits both alike.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import aiohttp

from .harness import BenchStack, is_role, open_widget, say
from .stats import over_repeats, ratio, summary_ms

QUESTION = "what payment methods do you accept?"
EXPECT = "PayPal"  # the bot's answer names it; a different answer would be a different turn


async def _via_rasa(http: aiohttp.ClientSession, rasa_url: str) -> float:
    started = time.perf_counter()
    async with http.post(
        f"{rasa_url}/webhooks/rest/webhook",
        json={"sender": f"bench-{uuid.uuid4().hex}", "message": QUESTION},
    ) as response:
        body = await response.json()
    elapsed = time.perf_counter() - started
    if EXPECT not in str(body):
        raise RuntimeError(f"Rasa answered something else: {body!r}")
    return elapsed


async def _via_bridge(http: aiohttp.ClientSession, bench: BenchStack) -> float:
    socket = await open_widget(http, bench.ws_url)
    try:
        replied = socket.expect(is_role("bot"))
        texts: list[str] = []
        socket.on_frame = lambda f, _t: texts.append(str(f.get("text", "")))
        sent = await say(socket, QUESTION)
        arrived = await asyncio.wait_for(replied, 30)
        if not any(EXPECT in t for t in texts):
            raise RuntimeError(f"the bridge relayed something else: {texts!r}")
        return arrived - sent
    finally:
        await socket.close()


async def run(bench: BenchStack, repeats: int, turns: int, warmup: int) -> dict[str, Any]:
    rasa_url = bench.stack.rasa_url
    async with aiohttp.ClientSession() as http:
        for _ in range(warmup):
            await _via_rasa(http, rasa_url)
            await _via_bridge(http, bench)
        results: list[dict[str, Any]] = []
        for _ in range(repeats):
            rasa: list[float] = []
            bridge: list[float] = []
            for i in range(turns):
                if i % 2:
                    rasa.append(await _via_rasa(http, rasa_url))
                    bridge.append(await _via_bridge(http, bench))
                else:
                    bridge.append(await _via_bridge(http, bench))
                    rasa.append(await _via_rasa(http, rasa_url))
            r, b = summary_ms(rasa), summary_ms(bridge)
            results.append(
                {
                    "rasa": r,
                    "bridge": b,
                    "rasa_p50_ms": r["p50_ms"],
                    "rasa_p99_ms": r["p99_ms"],
                    "bridge_p50_ms": b["p50_ms"],
                    "bridge_p99_ms": b["p99_ms"],
                    "overhead_p50": ratio(b["p50_ms"] - r["p50_ms"], r["p50_ms"]),
                }
            )
    medians = over_repeats(
        results, "rasa_p50_ms", "rasa_p99_ms", "bridge_p50_ms", "bridge_p99_ms", "overhead_p50"
    )
    return {
        "question": QUESTION,
        "turns_per_repeat": turns,
        "repeats": results,
        "median": medians,
        "target": {"overhead_p50_max": 0.10},
        "met": medians["overhead_p50"] <= 0.10,
    }
