"""The frozen collector (bridge/gc_tuning.py): short collector pauses, no lasting garbage."""

from __future__ import annotations

import asyncio
import json
import subprocess
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest

from bridge.gc_tuning import GROWTH, MAX_FULL_INTERVAL_S, FullCollectionPolicy
from bridge.settings import Settings, SettingsError
from devstack.processes import BRIDGE_PYTHON, ROOT, Service, free_port
from devstack.stack import Stack
from tests.ops.conftest import bridge_env, scrape, value
from tests.support import eventually

REDIS_DB = 12


def test_a_full_collection_waits_for_the_interval_and_for_growth() -> None:
    policy = FullCollectionPolicy(min_interval_s=600, last_at=1000.0, blocks_after_last=100_000)
    grown = int(100_000 * GROWTH)
    # Within the interval nothing is due, however much the heap grew.
    assert not policy.due(1000.0 + 599, grown * 10)
    # After it, only a heap grown by a quarter makes one due...
    assert not policy.due(1000.0 + 600, grown - 1)
    assert policy.due(1000.0 + 600, grown)
    # ...or the hourly one, so finalizers of frozen garbage run in a steady process too.
    assert policy.due(1000.0 + MAX_FULL_INTERVAL_S, 100_000)
    policy.collected(5000.0, 120_000)
    assert not policy.due(5000.0 + 600, 120_000)
    assert policy.due(5000.0 + 600, int(120_000 * GROWTH))


def test_the_interval_must_not_be_negative() -> None:
    env = {
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": "signing-secret",
        "SLACK_CHANNEL_ID": "C0STAFF",
    }
    assert Settings.from_env(env).gc_full_interval_s > 0
    assert Settings.from_env(env | {"BRIDGE_GC_FULL_INTERVAL_S": "0"}).gc_full_interval_s == 0
    with pytest.raises(SettingsError, match="BRIDGE_GC_FULL_INTERVAL_S must not be negative"):
        Settings.from_env(env | {"BRIDGE_GC_FULL_INTERVAL_S": "-1"})


# A process of its own: freezing is process-wide, and this one holds long-lived objects in
# reference cycles (as closed sockets leave them), drops them once they are frozen, and
# reports when they were reclaimed.
_CHILD = textwrap.dedent(
    """
    import asyncio, gc, json, time, weakref
    from bridge.gc_tuning import FrozenCollector

    class Node:
        pass

    def cycles(n, freed):
        out = []
        for _ in range(n):
            a, b = Node(), Node()
            a.other, b.other = b, a
            weakref.finalize(a, freed.append, 1)
            out.append(a)
        return out

    async def until(condition, timeout_s=30.0):
        deadline = time.monotonic() + timeout_s
        while not condition():
            assert time.monotonic() < deadline, "timed out"
            await asyncio.sleep(0.01)

    async def dropped_when_frozen(collector):
        task = asyncio.create_task(collector.run())
        await until(lambda: collector.stats.full_collections == 1)  # the start-up one
        freed = []
        held = cycles(50_000, freed)
        await until(lambda: gc.get_freeze_count() > 100_000)
        del held
        return task, freed

    async def main():
        # Ticks collect only what is younger than the last freeze: frozen cycles stay...
        collector = FrozenCollector(min_full_interval_s=3600, freeze_every_s=0.01)
        task, freed = await dropped_when_frozen(collector)
        ticks = collector.stats.ticks
        await until(lambda: collector.stats.ticks >= ticks + 20)
        kept_by_ticks = 50_000 - len(freed)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        frozen_after_stop = gc.get_freeze_count()
        gc.collect()
        # ...until the bounded full collection: here due one second after the start-up one,
        # since the heap grew by far more than a quarter.
        collector = FrozenCollector(min_full_interval_s=1.0, freeze_every_s=0.01)
        task, freed = await dropped_when_frozen(collector)
        dropped_at = time.monotonic()
        await until(lambda: len(freed) == 50_000)
        reclaimed_after_s = time.monotonic() - dropped_at
        fulls = collector.stats.full_collections
        # A steady heap pays no further full collection, however many ticks pass.
        ticks = collector.stats.ticks
        await until(lambda: collector.stats.ticks >= ticks + 100)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        print(json.dumps({
            "kept_by_ticks": kept_by_ticks,
            "frozen_after_stop": frozen_after_stop,
            "reclaimed_after_s": reclaimed_after_s,
            "full_collections": fulls,
            "steady_fulls": collector.stats.full_collections - fulls,
        }))

    asyncio.run(main())
    """
)


def test_frozen_cycles_are_reclaimed_by_the_bounded_full_collection() -> None:
    result = subprocess.run(
        [str(BRIDGE_PYTHON), "-c", _CHILD],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["kept_by_ticks"] == 50_000, report
    # Stopping the collector leaves nothing frozen behind.
    assert report["frozen_after_stop"] == 0, report
    # Due one interval (1 s) after the start-up collection; generous for a busy machine.
    assert report["reclaimed_after_s"] < 10, report
    assert report["full_collections"] == 2, report
    assert report["steady_fulls"] == 0, report


async def _widget(http: aiohttp.ClientSession, ws_url: str) -> aiohttp.ClientWebSocketResponse:
    ws = await http.ws_connect(ws_url)
    await ws.send_json({"type": "hello", "token": None, "since": None})
    kinds = []
    while "history" not in kinds:
        kinds.append((await ws.receive_json(timeout=30))["type"])
    assert kinds == ["welcome", "history"]
    return ws


async def _gc_counts(bridge_url: str) -> tuple[float, float]:
    """(freeze ticks, full collections) from the bridge's /metrics."""
    samples = await scrape(bridge_url)
    return (
        value(samples, "bridge_gc_freeze_ticks_total"),
        value(samples, "bridge_gc_full_collections_total"),
    )


async def test_a_bridge_with_churning_widgets_keeps_serving_and_collects_in_full(
    stack: Stack, extra_bridge: Callable[[dict[str, str]], Service], tmp_path: Path
) -> None:
    port = free_port()
    env = bridge_env(stack, REDIS_DB, port) | {"BRIDGE_GC_FULL_INTERVAL_S": "1"}
    bridge = extra_bridge(env)
    await asyncio.to_thread(bridge.start)
    bridge_url = f"http://127.0.0.1:{port}"
    ws_url = f"ws://127.0.0.1:{port}/widget/ws"

    async def counts() -> tuple[float, float]:
        return await _gc_counts(bridge_url)

    await eventually(counts, lambda c: c[1] >= 1, what="the start-up collection")
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        held = [await _widget(http, ws_url) for _ in range(20)]
        # Sockets that come and go leave frozen garbage; the bridge reclaims it in full
        # collections of its own, while the held sockets keep working throughout. Each batch
        # stays open through two freeze ticks, so its garbage is frozen, not collected young.
        deadline = time.monotonic() + 180
        while (await counts())[1] < 2:
            assert time.monotonic() < deadline, f"no full collection after churn: {await counts()}"
            churn = await asyncio.gather(*(_widget(http, ws_url) for _ in range(100)))
            ticks = (await counts())[0]
            await eventually(counts, lambda c, t=ticks: c[0] >= t + 2, what="two freeze ticks")
            await asyncio.gather(*(ws.close() for ws in churn))
        late = await _widget(http, ws_url)
        assert all(not ws.closed for ws in held)
        for ws in [*held, late]:
            await ws.close()
