"""4. Connections: 5,000 concurrent idle widget connections on one bridge process.

Each repeat starts from an empty Redis, a fresh local Slack and a fresh bridge process (so no
delivery backlog of earlier measurements runs in the background), hands 8 conversations over,
warms the bridge (a few connections opened and closed, the
relay sockets opened and used), measures the relay once with no idle connection (the baseline,
same process and machine load), reads its RSS, opens the idle connections (each says `hello`
and gets `welcome` + `history`, as a page load does), waits for the process to settle and reads
the RSS again: memory per connection = growth / connections. With the connections held, the
human relay is measured again at the same offered rate as in measurement 2.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
from redis.asyncio import Redis

from .harness import BenchStack, Socket, gc_pause_cpu, gc_pauses, open_widget, rss_kib
from .relay import Handed, bridge_target, hand_over_conversations, open_loop
from .stats import over_repeats, ratio

TARGET_BYTES = 30 * 1024


async def _open_many(bench: BenchStack, http: aiohttp.ClientSession, count: int) -> list[Socket]:
    gate = asyncio.Semaphore(100)

    async def one() -> Socket:
        async with gate:
            return await open_widget(http, bench.ws_url, timeout_s=60)

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def _close_many(sockets: list[Socket]) -> None:
    for start in range(0, len(sockets), 500):
        await asyncio.gather(*(s.close() for s in sockets[start : start + 500]))


async def _used_memory(redis: Redis) -> int:
    info = await redis.info("memory")
    return int(info["used_memory"])


async def _one_repeat(
    bench: BenchStack,
    redis: Redis,
    handed: list[Handed],
    connections: int,
    rate: float,
    duration_s: float,
) -> dict[str, Any]:
    await bench.fresh_state(slack_rate_limit=False)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        await _close_many(await _open_many(bench, http, 50))
        handed = await hand_over_conversations(http, bench, len(handed))
        relay = await bridge_target(http, bench, handed)
        await open_loop(relay, rate, 1.0)
        # The same relay before any idle connection is open: the figure to compare with, taken
        # by the same process under the same machine load (others may share the machine).
        alone = await open_loop(relay, rate, duration_s)
        await asyncio.sleep(1.0)
        pid = bench.bridge_pid
        before_kib, redis_before = rss_kib(pid), await _used_memory(redis)
        started = time.monotonic()
        idle = await _open_many(bench, http, connections)
        opened_s = time.monotonic() - started
        await asyncio.sleep(2.0)
        after_kib, redis_after = rss_kib(pid), await _used_memory(redis)
        relay_started = time.monotonic()
        latency = await open_loop(relay, rate, duration_s)
        relay_ended = time.monotonic()
        pauses = gc_pauses(bench.gc_log, relay_started, relay_ended)
        pauses_cpu = gc_pause_cpu(bench.gc_log, relay_started, relay_ended)
        # While 5,000 sockets arrive the heap grows fastest: the collector's worst moment.
        opening_pauses = gc_pauses(bench.gc_log, started, relay_started)
        still_open = sum(1 for s in idle if not s.ws.closed)
        await relay.close()
        await _close_many(idle)
    per_connection = (after_kib - before_kib) * 1024 / connections
    return {
        "connections": connections,
        "open_s": round(opened_s, 2),
        "still_open_after_relay": still_open,
        "rss_before_kib": before_kib,
        "rss_after_kib": after_kib,
        "bytes_per_connection": round(per_connection),
        "redis_bytes_per_conversation": round((redis_after - redis_before) / connections),
        "relay_before_held": alone,
        "relay_p99_before_held_ms": alone["p99_ms"],
        "relay_while_held": latency,
        "relay_p50_ms": latency["p50_ms"],
        "relay_p99_ms": latency["p99_ms"],
        "bridge_gc_pauses_during_relay_ms": pauses,
        "longest_gc_pause_ms": max(pauses, default=0.0),
        "longest_gc_pause_cpu_ms": max(pauses_cpu, default=0.0),
        "longest_gc_pause_while_opening_ms": max(opening_pauses, default=0.0),
    }


async def run(
    bench: BenchStack,
    handed: list[Handed],
    repeats: int,
    connections: int,
    rate: float,
    duration_s: float,
) -> dict[str, Any]:
    redis = Redis.from_url(bench.stack.redis_url)
    try:
        results = [
            await _one_repeat(bench, redis, handed, connections, rate, duration_s)
            for _ in range(repeats)
        ]
    finally:
        await redis.aclose()
    medians = over_repeats(
        results,
        "bytes_per_connection",
        "redis_bytes_per_conversation",
        "open_s",
        "relay_p99_before_held_ms",
        "relay_p50_ms",
        "relay_p99_ms",
        "longest_gc_pause_ms",
        "longest_gc_pause_cpu_ms",
        "longest_gc_pause_while_opening_ms",
    )
    return {
        "connections": connections,
        "rate_per_s": rate,
        "repeats": results,
        "median": medians,
        "ratios": {
            "memory_vs_target": ratio(medians["bytes_per_connection"], TARGET_BYTES),
            "relay_p99_vs_target": ratio(medians["relay_p99_ms"], 10.0),
        },
        "target": {"bytes_per_connection_max": TARGET_BYTES},
        "met": medians["bytes_per_connection"] <= TARGET_BYTES,
        "all_held": all(r["still_open_after_relay"] == connections for r in results),
    }
