"""Which outbound streams this process sends: each stream has a lease held by one replica.

Every tick a replica renews the leases it holds and takes free ones up to its fair share
(streams / live replicas). A replica holding more than its share lets the extra ones go once the
delivery in progress is finished, so a newcomer gets work without anything being sent twice. A
replica that dies stops renewing: its leases expire and the next owner takes over the entries
it had read but not acknowledged (StreamSender._take_over). One replica alone holds everything
from its first tick on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis

from bridge import keys
from bridge.outbox.drain import StreamSender

log = logging.getLogger(__name__)

LEASE_TTL_MS = 6000
TICK_S = 1.0
# A lease is trusted locally only this long before its Redis expiry.
SAFETY_S = 1.5

# KEYS: the leases; ARGV: me, ttl (ms), my share. Answers 1 (mine) or 0 (not mine) per lease.
_TICK = """
local me, ttl, share = ARGV[1], ARGV[2], tonumber(ARGV[3])
local held, mine = {}, 0
for i, key in ipairs(KEYS) do
  local owner = redis.call('GET', key)
  if owner == me then
    redis.call('PEXPIRE', key, ttl)
    held[i] = 1
    mine = mine + 1
  elseif owner then held[i] = 0 else held[i] = -1 end
end
for i, key in ipairs(KEYS) do
  if held[i] == -1 then
    if mine < share then
      redis.call('SET', key, me, 'PX', ttl)
      held[i] = 1
      mine = mine + 1
    else
      held[i] = 0
    end
  end
end
return held
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

SenderFactory = Callable[[str, Callable[[], bool]], StreamSender]


class PartitionOwner:
    def __init__(
        self,
        redis: Redis,
        instance: str,
        ttl_ms: int = LEASE_TTL_MS,
        tick_s: float = TICK_S,
    ) -> None:
        self._redis = redis
        self._instance = instance
        self._ttl_ms = ttl_ms
        self._tick_s = tick_s
        self._factories: dict[str, SenderFactory] = {}
        self._running: dict[str, tuple[StreamSender, asyncio.Task[None]]] = {}
        self._releasing: set[str] = set()
        self._owned: set[str] = set()
        self._valid_until = 0.0
        self._tick_script = redis.register_script(_TICK)
        self._release_script = redis.register_script(_RELEASE)
        self._helpers: set[asyncio.Task[None]] = set()
        self.first_tick = asyncio.Event()

    def add(self, streams: list[str], factory: SenderFactory) -> None:
        """Streams to send, and how to build the sender of one of them."""
        for stream in streams:
            self._factories[stream] = factory

    @property
    def owned(self) -> set[str]:
        return set(self._owned) if time.monotonic() < self._valid_until else set()

    @property
    def senders(self) -> list[StreamSender]:
        return [sender for sender, _ in self._running.values()]

    def _owns(self, stream: str) -> Callable[[], bool]:
        return lambda: stream in self._owned and time.monotonic() < self._valid_until

    async def run(self) -> None:
        try:
            while True:
                try:
                    await self._tick()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # Redis away: leases lapse; senders stop on their own
                    log.warning("partition leases not renewed: %s", exc)
                self.first_tick.set()
                await asyncio.sleep(self._tick_s)
        finally:
            for _, task in self._running.values():
                task.cancel()

    async def _tick(self) -> None:
        started = time.monotonic()
        streams = list(self._factories)
        seconds, micros = await self._redis.time()
        now_ms = seconds * 1000 + micros // 1000
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(keys.SENDERS_ALIVE, {self._instance: now_ms + self._ttl_ms})
            pipe.zremrangebyscore(keys.SENDERS_ALIVE, "-inf", now_ms)
            pipe.zcard(keys.SENDERS_ALIVE)
            *_, alive = await pipe.execute()
        share = math.ceil(len(streams) / max(1, int(alive)))
        held: Any = await self._tick_script(
            keys=[keys.lease(s) for s in streams],
            args=[self._instance, self._ttl_ms, share],
        )
        self._owned = {s for s, h in zip(streams, held, strict=True) if int(h) == 1}
        self._valid_until = started + self._ttl_ms / 1000 - SAFETY_S
        for stream, (_, task) in list(self._running.items()):
            if task.done() and stream not in self._releasing:
                del self._running[stream]
        for stream in streams:
            if stream in self._owned and stream not in self._running:
                self._start(stream)
            elif stream not in self._owned and stream in self._running:
                self._running[stream][0].request_stop()  # lost (expired while Redis was away)
        extra = len(self._owned) - share - len(self._releasing)
        for stream in sorted(self._owned - self._releasing, reverse=True)[: max(0, extra)]:
            self._releasing.add(stream)
            self._spawn(self._release(stream))

    def _start(self, stream: str) -> None:
        sender = self._factories[stream](stream, self._owns(stream))
        task = asyncio.create_task(sender.run())
        task.add_done_callback(_log_crash)
        self._running[stream] = (sender, task)

    async def _release(self, stream: str) -> None:
        """Hand a stream over: finish its delivery in progress, then free its lease."""
        try:
            running = self._running.get(stream)
            if running is not None:
                running[0].request_stop()
                with contextlib.suppress(Exception):
                    await running[1]
            self._owned.discard(stream)
            self._running.pop(stream, None)
            await self._release_script(keys=[keys.lease(stream)], args=[self._instance])
            log.info("released %s to another replica", stream)
        finally:
            self._releasing.discard(stream)

    async def stop(self, grace_s: float) -> bool:
        """At shutdown: let deliveries in progress finish, then free every lease at once so
        another replica takes over without waiting for them to expire."""
        finished = await asyncio.gather(*(s.in_flight.stop(grace_s) for s in self.senders))
        for sender in self.senders:
            sender.request_stop()
        if all(finished):
            with contextlib.suppress(Exception):
                for stream in list(self._owned):
                    await self._release_script(keys=[keys.lease(stream)], args=[self._instance])
                await self._redis.zrem(keys.SENDERS_ALIVE, self._instance)
            self._owned = set()
        return all(finished)

    def _spawn(self, job: Any) -> None:
        task = asyncio.create_task(job)
        self._helpers.add(task)
        task.add_done_callback(self._helpers.discard)


def _log_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("sender crashed", exc_info=task.exception())
