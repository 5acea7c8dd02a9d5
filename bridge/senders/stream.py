"""Drains one outbound Redis stream: deliver, then acknowledge; retry what may succeed later."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from bridge import keys
from bridge.observability import metrics
from bridge.observability.logs import conversation_context
from bridge.shutdown import InFlight

log = logging.getLogger(__name__)


class RetryLater(Exception):
    """The platform may accept the message later (rate limit, 5xx, timeout)."""

    def __init__(self, reason: str, retry_after_s: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after_s = retry_after_s


class Undeliverable(Exception):
    """The platform refused the message for good (blocked bot, unknown channel…)."""


Deliver = Callable[[dict[str, str]], Awaitable[None]]
# Told about every entry that goes to the dead-letter stream, with the reason (e.g. to warn staff).
OnDead = Callable[[dict[str, str], str], Awaitable[None]]

# How long one read waits for new entries; it must stay under the Redis client's socket
# timeout (5 s by default in redis-py), or an idle stream looks like a dead connection.
BLOCK_MS = 2000

# Entries another consumer read but never acknowledged for this long are taken over: that
# consumer has died (a replica that will not come back under the same name).
STALE_CLAIM_MS = 60_000


class StreamSender:
    def __init__(
        self,
        redis: Redis,
        stream: str,
        consumer: str,
        deliver: Deliver,
        max_attempts: int,
        base_delay_s: float = 0.5,
        max_delay_s: float = 30.0,
        on_dead: OnDead | None = None,
    ) -> None:
        self._redis = redis
        self._stream = stream
        self._consumer = consumer
        self._deliver = deliver
        self._max_attempts = max_attempts
        self._base_delay_s = base_delay_s
        self._max_delay_s = max_delay_s
        self._on_dead = on_dead
        # A shutdown waits for a delivery in progress (see bridge/shutdown.py).
        self.in_flight = InFlight()

    async def run(self) -> None:
        await self._ensure_group()
        # Entries this consumer read before a restart come first: they are the oldest.
        await self._drain("0")
        while True:
            try:
                await self._claim_stale()
                await self._drain(">", block_ms=BLOCK_MS)
            except asyncio.CancelledError:
                raise
            except Exception:  # a Redis blip must not stop delivery for good
                log.exception("sender %s: read failed; retrying", self._stream)
                await asyncio.sleep(1)

    async def _ensure_group(self) -> None:
        try:
            await self._redis.xgroup_create(self._stream, keys.SENDER_GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def _drain(self, start: str, block_ms: int | None = None) -> None:
        while True:
            reply: Any = await self._redis.xreadgroup(
                keys.SENDER_GROUP, self._consumer, {self._stream: start}, count=50, block=block_ms
            )
            entries = reply[0][1] if reply else []
            if not entries:
                return
            for entry_id, fields in entries:
                await self._send(entry_id, fields)
            if start == ">":
                return

    async def _claim_stale(self) -> None:
        reply: Any = await self._redis.xautoclaim(
            self._stream, keys.SENDER_GROUP, self._consumer, STALE_CLAIM_MS, "0-0", count=50
        )
        # Redis 6.2 answers [cursor, entries]; 7.x adds a list of deleted ids.
        for entry_id, fields in reply[1]:
            if fields:
                await self._send(entry_id, fields)

    async def _send(self, entry_id: str, fields: dict[str, str]) -> None:
        with conversation_context(fields.get("conversation", "")):
            await self._attempt(entry_id, fields)

    async def _attempt(self, entry_id: str, fields: dict[str, str]) -> None:
        delay = self._base_delay_s
        for attempt in range(1, self._max_attempts + 1):
            try:
                async with self.in_flight.step():
                    await self._deliver(fields)
                    await self._redis.xack(self._stream, keys.SENDER_GROUP, entry_id)
            except RetryLater as exc:
                if attempt == self._max_attempts:
                    metrics.delivery_failed(self._stream, "gave_up")
                    await self._dead_letter(entry_id, fields, f"gave up: {exc}")
                    return
                metrics.delivery_retried(self._stream)
                wait = exc.retry_after_s if exc.retry_after_s is not None else delay
                log.warning("%s %s: %s; retry in %.1fs", self._stream, entry_id, exc, wait)
                await asyncio.sleep(wait)
                delay = min(delay * 2, self._max_delay_s)
            except Undeliverable as exc:
                metrics.delivery_failed(self._stream, "refused")
                await self._dead_letter(entry_id, fields, str(exc))
                return
            else:
                metrics.message(metrics.channel_of(self._stream), "out")
                return

    async def _dead_letter(self, entry_id: str, fields: dict[str, str], reason: str) -> None:
        log.error("%s %s undeliverable: %s", self._stream, entry_id, reason)
        async with self._redis.pipeline(transaction=True) as pipe:
            dead: dict[Any, Any] = {**fields, "stream": self._stream, "reason": reason}
            pipe.xadd(keys.DEAD_LETTERS, dead)
            pipe.xack(self._stream, keys.SENDER_GROUP, entry_id)
            await pipe.execute()
        if self._on_dead is not None:
            try:
                await self._on_dead(fields, reason)
            except Exception:  # the entry is safe in the dead letters; only the notice is lost
                log.exception("%s %s: dead-letter notice failed", self._stream, entry_id)
