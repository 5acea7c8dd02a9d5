"""Keeps the garbage collector's pauses short while thousands of widget sockets are open.

Why: CPython's cyclic collector runs a full (generation 2) collection whenever a quarter as
many objects as the old generation holds have been promoted into it since the last one. An
idle widget socket is ~75 GC-tracked objects, almost all aiohttp's and asyncio's (two tasks,
their coroutines, reader, writer, transport, timers); 5,000 of them make a heap of ~450 k
objects, and a full pass over it takes 0.2-0.5 s during which no message moves. Promotions
never stop even when nothing grows (each socket's 30 s heartbeat timers live long enough to be
promoted, then die), so those pauses came about once a minute with 5,000 idle sockets and
every few seconds under relay traffic (docs/benchmarks.md, measurement 4).

What: move everything that has lived through a collection into the permanent generation
(`gc.freeze()`) every second, so the collector's passes only ever look at what was allocated
since. A tick is `gc.collect()` over the unfrozen objects only (under 5 ms with 5,000 sockets
held and 200 relayed messages a second; 45-85 ms while 5,000 sockets arrive within 5-9 s, where
Python's own full passes took 220-480 ms) followed by `gc.freeze()` (constant time).

The cost, and how it is bounded: a frozen object that later dies *in a reference cycle* is
not reclaimed until it is unfrozen (objects freed by reference counting, most of them, go at
once as usual). Every closed socket leaves such a cycle - asyncio's selector transport keeps a
bound method of itself, and aiohttp's request, handler and WebSocket objects refer to each
other - about 28 objects and 10 KB per socket, all of it frozen if the socket lived longer than
a tick. Freezing alone therefore leaks: 5,000 sockets opened and closed over and over grew the
process by ~50 MB a round, without end. So full collections still run - unfreeze, collect
everything, freeze again - but only when they can be worth it, and never often:

- when the Python heap grew by a quarter since the last full collection (counted in allocated
  memory blocks, `sys.getallocatedblocks()`, cheap; garbage still held counts, so frozen
  garbage is reclaimed once it reaches a quarter of the heap, or one interval later);
- at most once per `min_full_interval_s` (BRIDGE_GC_FULL_INTERVAL_S), and at least once per
  `max(MAX_FULL_INTERVAL_S, min_full_interval_s)`, so finalizers of frozen garbage do run.

A steady process (sockets held, traffic flowing, nothing accumulating) pays one full pause an
hour instead of one every few seconds; a churning one pays at most one per interval, and holds
at most a quarter of its heap, or one interval's worth of closed sockets, in garbage. (Under an
allocator other than pymalloc `sys.getallocatedblocks()` is 0, so every interval is "grown":
a full collection once per interval, still bounded.)
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
import time
from dataclasses import dataclass

from bridge.observability import metrics

log = logging.getLogger(__name__)

# How often survivors are moved out of the collector's way. Short, so a tick during a burst of
# new sockets (a reconnect storm after a deploy) only has a second's worth of them to scan.
FREEZE_EVERY_S = 1.0
# A full collection is due once the heap has grown by this factor since the last one; the
# same quarter CPython uses, but of net growth rather than of promotions.
GROWTH = 1.25
# And at least this often, so objects with finalizers that died in frozen cycles get them run.
MAX_FULL_INTERVAL_S = 3600.0


@dataclass
class FullCollectionPolicy:
    """When the next full collection is due; pure, so it can be tested without a collector."""

    min_interval_s: float
    last_at: float
    blocks_after_last: int

    @property
    def max_interval_s(self) -> float:
        return max(MAX_FULL_INTERVAL_S, self.min_interval_s)

    def due(self, now: float, blocks: int) -> bool:
        waited = now - self.last_at
        if waited < self.min_interval_s:
            return False
        return waited >= self.max_interval_s or blocks >= self.blocks_after_last * GROWTH

    def collected(self, now: float, blocks: int) -> None:
        self.last_at, self.blocks_after_last = now, blocks


@dataclass
class GcStats:
    ticks: int = 0
    full_collections: int = 0
    last_full_ms: float = 0.0
    longest_tick_ms: float = 0.0


class FrozenCollector:
    """Runs the freeze ticks and the bounded full collections (see the module docstring)."""

    def __init__(self, min_full_interval_s: float, freeze_every_s: float = FREEZE_EVERY_S):
        self._freeze_every_s = freeze_every_s
        self._policy = FullCollectionPolicy(min_full_interval_s, time.monotonic(), 0)
        self.stats = GcStats()

    async def run(self) -> None:
        """Until cancelled; on the way out everything is unfrozen again."""
        try:
            self._full()
            while True:
                await asyncio.sleep(self._freeze_every_s)
                if self._policy.due(time.monotonic(), sys.getallocatedblocks()):
                    self._full()
                else:
                    self._tick()
        finally:
            gc.unfreeze()

    def _tick(self) -> None:
        started = time.perf_counter()
        gc.collect()
        gc.freeze()
        ms = (time.perf_counter() - started) * 1000
        self.stats.ticks += 1
        self.stats.longest_tick_ms = max(self.stats.longest_tick_ms, ms)
        metrics.gc_tick()

    def _full(self) -> None:
        started = time.perf_counter()
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        ms = (time.perf_counter() - started) * 1000
        self.stats.full_collections += 1
        self.stats.last_full_ms = ms
        metrics.gc_full(ms / 1000)
        blocks = sys.getallocatedblocks()
        self._policy.collected(time.monotonic(), blocks)
        log.info("full garbage collection: %.0f ms, %d memory blocks in use after", ms, blocks)
