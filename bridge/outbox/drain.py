"""Drains one outbound Redis stream: decode each job, hand it to its platform's sender, and
acknowledge it through the outbox once the platform has it; retry what may succeed later.

A stream is sent by one process at a time (bridge/outbox/partitions.py hands out the streams),
so the entries of one conversation leave in the order they were queued.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bridge import keys
from bridge.observability import metrics
from bridge.observability.logs import conversation_context
from bridge.outbox.delivery import (
    Coalescer,
    Delivered,
    Delivery,
    Joined,
    RetryLater,
    Sender,
    Undeliverable,
)
from bridge.outbox.jobs import Fields, Job, JobError, decode
from bridge.outbox.outbox import Outbox
from bridge.shutdown import InFlight

log = logging.getLogger(__name__)

# How long one read waits for new entries; it must stay under the Redis client's socket
# timeout (5 s by default in redis-py), or an idle stream looks like a dead connection.
BLOCK_MS = 2000
READ_COUNT = 50
# A delivered entry's acknowledgement is retried for about half a minute (Redis restarting).
ACK_TRIES = 60


@dataclass(frozen=True)
class _Entry:
    id: str
    fields: Fields
    job: Job | None  # None: fields this bridge cannot read (dead-lettered at once)


class StreamSender:
    def __init__(
        self,
        redis: Redis,
        outbox: Outbox,
        stream: str,
        consumer: str,
        deliver: Sender,
        max_attempts: int,
        base_delay_s: float = 0.5,
        max_delay_s: float = 30.0,
        coalescer: Coalescer | None = None,
        still_owner: Callable[[], bool] = lambda: True,
    ) -> None:
        self._redis = redis
        self._outbox = outbox
        self.stream = stream
        self._consumer = consumer
        self._deliver = deliver
        self._max_attempts = max_attempts
        self._base_delay_s = base_delay_s
        self._max_delay_s = max_delay_s
        self._coalescer = coalescer
        self._still_owner = still_owner
        self._buffer: deque[_Entry] = deque()
        # Entries whose delivery may already have reached the platform (Delivery.unsure).
        self._unsure: set[str] = set()
        self._stop = asyncio.Event()
        # A shutdown waits for a delivery in progress (see bridge/shutdown.py).
        self.in_flight = InFlight()

    def request_stop(self) -> None:
        """Finish the delivery in progress, start no other; unsent entries stay pending."""
        self._stop.set()

    @property
    def _stopping(self) -> bool:
        return self._stop.is_set() or not self._still_owner()

    async def run(self) -> None:
        await self._ensure_group()
        # Whatever an earlier owner of this stream read and never acknowledged comes first: it
        # is the oldest, and it is ours now (only one process sends a stream at a time).
        await self._take_over()
        await self._fill("0")
        self._mark_unsure()
        while not self._stopping:
            try:
                if not self._buffer:
                    await self._fill(">", block_ms=BLOCK_MS)
                await self._send_buffered()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a Redis blip must not stop delivery for good
                log.exception("sender %s: read failed; retrying", self.stream)
                await self._pause(1.0)
                if "NOGROUP" in str(exc):  # Redis came back without our data
                    with contextlib.suppress(Exception):
                        await self._ensure_group()
                # Start again from what Redis says we hold: every entry read and not yet
                # acknowledged, oldest first (the buffer may have lost track mid-step).
                self._buffer.clear()
                with contextlib.suppress(Exception):
                    await self._fill("0")
                    self._mark_unsure()

    def _mark_unsure(self) -> None:
        """Just read back from the pending list: its oldest entry heads the delivery that was
        in progress when the previous holder (a killed process, or this one before a Redis
        blip) stopped, and that delivery may have reached the platform without being
        acknowledged. Only that one: a stream is sent one delivery at a time, each headed by
        the oldest entry not yet acknowledged, and acknowledged before the next starts."""
        if self._buffer:
            self._unsure.add(self._buffer[0].id)

    async def _ensure_group(self) -> None:
        try:
            await self._redis.xgroup_create(self.stream, keys.SENDER_GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def _take_over(self) -> None:
        cursor = "0-0"
        while True:
            reply: Any = await self._redis.xautoclaim(
                self.stream, keys.SENDER_GROUP, self._consumer, 0, cursor, count=100
            )
            # Redis 6.2 answers [cursor, ids]; 7.x adds a list of deleted ids.
            cursor = str(reply[0])
            if cursor in ("0-0", "0"):
                return

    async def _fill(self, start: str, block_ms: int | None = None) -> None:
        """Read into the buffer: our whole pending list ("0"), or one batch of new entries."""
        while True:
            reply: Any = await self._redis.xreadgroup(
                keys.SENDER_GROUP,
                self._consumer,
                {self.stream: start},
                count=READ_COUNT,
                block=block_ms,
            )
            entries = reply[0][1] if reply else []
            # A pending entry deleted from the stream reads back without fields.
            self._buffer.extend(_read(i, f) for i, f in entries if f)
            await self._outbox.discard(self.stream, [i for i, f in entries if not f])
            if start == ">" or not entries:
                return
            start = entries[-1][0]

    async def _send_buffered(self) -> None:
        while self._buffer and not self._stopping:
            head = self._buffer.popleft()
            run = [head]
            if head.job is not None and self._coalescer is not None:
                if self._coalescer.joinable(head.job):
                    run = await self._coalesce(head)
            with conversation_context(head.fields.get("conversation", "")):
                await self._attempt(run)

    async def _coalesce(self, head: _Entry) -> list[_Entry]:
        """The head entry plus the joinable entries of its conversation queued behind it, up
        to the first of that conversation that cannot join (so its order is kept)."""
        assert self._coalescer is not None and head.job is not None
        await self._coalescer.ready(head.job)
        with contextlib.suppress(Exception):  # joining is an optimisation; sending is not
            await self._fill(">")
        run, rest = [head], deque[_Entry]()
        blocked = False
        for entry in self._buffer:
            same = entry.fields.get("conversation") == head.fields.get("conversation")
            job = entry.job
            if same and not blocked and job is not None and self._coalescer.joinable(job):
                if self._coalescer.fits([e.job for e in run if e.job is not None], job):
                    run.append(entry)
                    continue
            if same:
                blocked = True
            rest.append(entry)
        self._buffer = rest
        return run

    async def _attempt(self, run: list[_Entry]) -> None:
        try:
            await self._attempts(run)
        finally:
            self._unsure.difference_update(e.id for e in run)

    async def _attempts(self, run: list[_Entry]) -> None:
        ids = tuple(e.id for e in run)
        jobs = [e.job for e in run if e.job is not None]
        if len(jobs) < len(run):
            await self._dead_letter(run, ids, jobs, "not a job this bridge can read")
            return
        job: Job | Joined = jobs[0] if len(jobs) == 1 else Joined(tuple(jobs))
        delay = self._base_delay_s
        unsure = any(i in self._unsure for i in ids)
        for attempt in range(1, self._max_attempts + 1):
            if self._stopping:
                return  # left pending for the stream's next owner (which is told it is unsure)
            delivery = Delivery(self.stream, ids, unsure)
            try:
                async with self.in_flight.step():
                    delivered = await self._deliver(job, delivery)
                    await self._ack(delivery, jobs, delivered)
            except RetryLater as exc:
                unsure = unsure or exc.outcome_unknown
                if attempt == self._max_attempts:
                    metrics.delivery_failed(self.stream, "gave_up")
                    await self._dead_letter(run, ids, jobs, f"gave up: {exc}")
                    return
                metrics.delivery_retried(self.stream)
                wait = exc.retry_after_s if exc.retry_after_s is not None else delay
                log.warning("%s %s: %s; retry in %.1fs", self.stream, ids[0], exc, wait)
                await self._pause(wait)
                delay = min(delay * 2, self._max_delay_s)
            except Undeliverable as exc:
                metrics.delivery_failed(self.stream, "refused")
                await self._dead_letter(run, ids, jobs, str(exc))
                return
            except (RedisConnectionError, RedisTimeoutError):
                raise  # Redis is away: the run loop starts again from the pending list
            except Exception as exc:  # a bug: retried, then dead-lettered
                log.exception("%s %s: delivery failed unexpectedly", self.stream, ids[0])
                unsure = True  # it may have failed after the platform took the message
                if attempt == self._max_attempts:
                    metrics.delivery_failed(self.stream, "gave_up")
                    await self._dead_letter(run, ids, jobs, f"failed: {exc!r}")
                    return
                await self._pause(delay)
                delay = min(delay * 2, self._max_delay_s)
            else:
                metrics.message(metrics.channel_of(self.stream), "out")
                return

    async def _ack(self, delivery: Delivery, jobs: list[Job], delivered: Delivered | None) -> None:
        """The platform has the message: keep trying to record that, so a Redis blip right
        now does not make us send it again."""
        for _ in range(ACK_TRIES - 1):
            try:
                await self._outbox.ack(delivery, jobs, delivered)
                return
            except (RedisConnectionError, RedisTimeoutError) as exc:
                log.warning(
                    "%s %s: delivered, not yet acknowledged: %s",
                    self.stream,
                    delivery.entries[0],
                    exc,
                )
                await asyncio.sleep(0.5)
        await self._outbox.ack(delivery, jobs, delivered)

    async def _pause(self, seconds: float) -> None:
        """Back off, but wake at once when asked to stop."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    async def _dead_letter(
        self, run: list[_Entry], ids: tuple[str, ...], jobs: list[Job], reason: str
    ) -> None:
        log.error("%s %s undeliverable: %s", self.stream, ids[0], reason)
        delivery = Delivery(self.stream, ids)
        await self._outbox.dead_letter(delivery, [e.fields for e in run], jobs, reason)


def _read(entry_id: str, fields: Fields) -> _Entry:
    try:
        return _Entry(entry_id, fields, decode(fields))
    except JobError as exc:
        log.error("entry %s is not a job: %s", entry_id, exc)
        return _Entry(entry_id, fields, None)
