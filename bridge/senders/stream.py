"""Drains one outbound Redis stream: deliver, then acknowledge; retry what may succeed later.

A stream is sent by one process at a time (bridge/partitions.py hands out the streams), so the
entries of one conversation leave in the order they were queued.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bridge import keys
from bridge.observability import metrics
from bridge.observability.logs import conversation_context
from bridge.shutdown import InFlight

log = logging.getLogger(__name__)


class RetryLater(Exception):
    """The platform may accept the message later (rate limit, 5xx, timeout).

    `outcome_unknown`: the platform may have carried the call out anyway (no answer came, or
    part of a multi-step delivery went through); the next attempt is told so (OUTCOME_UNKNOWN)
    and must look before it sends again.
    """

    def __init__(
        self, reason: str, retry_after_s: float | None = None, outcome_unknown: bool = False
    ) -> None:
        super().__init__(reason)
        self.retry_after_s = retry_after_s
        self.outcome_unknown = outcome_unknown


class Undeliverable(Exception):
    """The platform refused the message for good (blocked bot, unknown channel…)."""


# Added to the job a Deliver is handed: the stream entries it carries, as comma-separated
# "<stream>/<entry id>" (in queue order; several when jobs were coalesced) - an id the
# platform can be asked about later, e.g. in Slack message metadata.
DELIVERY_IDS = "_delivery_ids"
# Added (value "1") when an earlier attempt at this delivery may have reached the platform:
# it timed out, or the delivery was in progress in a process that died (see StreamSender).
OUTCOME_UNKNOWN = "_outcome_unknown"


def delivered_entries(job: dict[str, str]) -> list[tuple[str, str]]:
    """(stream, entry id) of every entry `job` delivers (DELIVERY_IDS), so a Deliver can
    acknowledge them in the same transaction as its own bookkeeping."""
    pairs = (i.rsplit("/", 1) for i in job.get(DELIVERY_IDS, "").split(",") if "/" in i)
    return [(stream, entry_id) for stream, entry_id in pairs]


Deliver = Callable[[dict[str, str]], Awaitable[None]]
# Told about every entry that goes to the dead-letter stream, with the reason (e.g. to warn staff).
OnDead = Callable[[dict[str, str], str], Awaitable[None]]


class Coalescer(Protocol):
    """Joins a run of queued jobs into one delivery (several quick lines, one post)."""

    def joinable(self, job: dict[str, str]) -> bool: ...

    def fits(self, run: list[dict[str, str]], job: dict[str, str]) -> bool: ...

    async def ready(self, job: dict[str, str]) -> None:
        """Wait until `job` could go out; whatever queues meanwhile joins it."""

    def join(self, run: list[dict[str, str]]) -> dict[str, str]: ...


# How long one read waits for new entries; it must stay under the Redis client's socket
# timeout (5 s by default in redis-py), or an idle stream looks like a dead connection.
BLOCK_MS = 2000
READ_COUNT = 50
# A delivered entry's acknowledgement is retried for about half a minute (Redis restarting).
ACK_TRIES = 60

Entry = tuple[str, dict[str, str]]


async def after_delivery(step: Callable[[], Awaitable[None]], what: str) -> None:
    """Bookkeeping once the platform has the message (a receipt, the thread's ts). A Redis blip
    here must not fail the delivery, or the message would be sent again: retry for a while."""
    for _ in range(ACK_TRIES - 1):
        try:
            await step()
            return
        except (RedisConnectionError, RedisTimeoutError) as exc:
            log.warning("delivered; %s not yet recorded: %s", what, exc)
            await asyncio.sleep(0.5)
    await step()


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
        coalescer: Coalescer | None = None,
        still_owner: Callable[[], bool] = lambda: True,
    ) -> None:
        self._redis = redis
        self.stream = stream
        self._consumer = consumer
        self._deliver = deliver
        self._max_attempts = max_attempts
        self._base_delay_s = base_delay_s
        self._max_delay_s = max_delay_s
        self._on_dead = on_dead
        self._coalescer = coalescer
        self._still_owner = still_owner
        self._buffer: deque[Entry] = deque()
        # Entries whose delivery may already have reached the platform (OUTCOME_UNKNOWN).
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
            self._unsure.add(self._buffer[0][0])

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
            self._buffer.extend((i, f) for i, f in entries if f)
            for entry_id, fields in entries:
                if not fields:
                    await self._redis.xack(self.stream, keys.SENDER_GROUP, entry_id)
            if start == ">" or not entries:
                return
            start = entries[-1][0]

    async def _send_buffered(self) -> None:
        while self._buffer and not self._stopping:
            entry_id, fields = self._buffer.popleft()
            ids, job = [entry_id], fields
            if self._coalescer is not None and self._coalescer.joinable(fields):
                ids, job = await self._coalesce(entry_id, fields)
            with conversation_context(fields.get("conversation", "")):
                await self._attempt(ids, job)

    async def _coalesce(
        self, entry_id: str, head: dict[str, str]
    ) -> tuple[list[str], dict[str, str]]:
        """The head job plus the joinable jobs of its conversation queued behind it, up to the
        first of that conversation that cannot join (so its order is kept)."""
        assert self._coalescer is not None
        await self._coalescer.ready(head)
        with contextlib.suppress(Exception):  # joining is an optimisation; sending is not
            await self._fill(">")
        run, ids, rest = [head], [entry_id], deque[Entry]()
        blocked = False
        for other_id, other in self._buffer:
            same = other.get("conversation") == head.get("conversation")
            if same and not blocked and self._coalescer.joinable(other):
                if self._coalescer.fits(run, other):
                    run.append(other)
                    ids.append(other_id)
                    continue
            if same:
                blocked = True
            rest.append((other_id, other))
        self._buffer = rest
        return ids, (self._coalescer.join(run) if len(run) > 1 else head)

    async def _attempt(self, ids: list[str], fields: dict[str, str]) -> None:
        try:
            await self._attempts(ids, fields)
        finally:
            self._unsure.difference_update(ids)

    async def _attempts(self, ids: list[str], fields: dict[str, str]) -> None:
        delay = self._base_delay_s
        unsure = any(i in self._unsure for i in ids)
        job = {**fields, DELIVERY_IDS: ",".join(f"{self.stream}/{i}" for i in ids)}
        for attempt in range(1, self._max_attempts + 1):
            if self._stopping:
                return  # left pending for the stream's next owner (which is told it is unsure)
            if unsure:
                job[OUTCOME_UNKNOWN] = "1"
            try:
                async with self.in_flight.step():
                    await self._deliver(job)
                    await self._ack(ids)
            except RetryLater as exc:
                unsure = unsure or exc.outcome_unknown
                if attempt == self._max_attempts:
                    metrics.delivery_failed(self.stream, "gave_up")
                    await self._dead_letter(ids, fields, f"gave up: {exc}")
                    return
                metrics.delivery_retried(self.stream)
                wait = exc.retry_after_s if exc.retry_after_s is not None else delay
                log.warning("%s %s: %s; retry in %.1fs", self.stream, ids[0], exc, wait)
                await self._pause(wait)
                delay = min(delay * 2, self._max_delay_s)
            except Undeliverable as exc:
                metrics.delivery_failed(self.stream, "refused")
                await self._dead_letter(ids, fields, str(exc))
                return
            except (RedisConnectionError, RedisTimeoutError):
                raise  # Redis is away: the run loop starts again from the pending list
            except Exception as exc:  # a bug or a malformed job: retried, then dead-lettered
                log.exception("%s %s: delivery failed unexpectedly", self.stream, ids[0])
                unsure = True  # it may have failed after the platform took the message
                if attempt == self._max_attempts:
                    metrics.delivery_failed(self.stream, "gave_up")
                    await self._dead_letter(ids, fields, f"failed: {exc!r}")
                    return
                await self._pause(delay)
                delay = min(delay * 2, self._max_delay_s)
            else:
                metrics.message(metrics.channel_of(self.stream), "out")
                return

    async def _ack(self, ids: list[str]) -> None:
        """The platform has the message: keep trying to record that, so a Redis blip right
        now does not make us send it again."""
        for _ in range(ACK_TRIES - 1):
            try:
                await self._redis.xack(self.stream, keys.SENDER_GROUP, *ids)
                return
            except (RedisConnectionError, RedisTimeoutError) as exc:
                log.warning("%s %s: delivered, not yet acknowledged: %s", self.stream, ids[0], exc)
                await asyncio.sleep(0.5)
        await self._redis.xack(self.stream, keys.SENDER_GROUP, *ids)

    async def _pause(self, seconds: float) -> None:
        """Back off, but wake at once when asked to stop."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    async def _dead_letter(self, ids: list[str], fields: dict[str, str], reason: str) -> None:
        log.error("%s %s undeliverable: %s", self.stream, ids[0], reason)
        async with self._redis.pipeline(transaction=True) as pipe:
            dead: dict[Any, Any] = {**fields, "stream": self.stream, "reason": reason}
            pipe.xadd(keys.DEAD_LETTERS, dead)
            pipe.xack(self.stream, keys.SENDER_GROUP, *ids)
            await pipe.execute()
        if self._on_dead is not None:
            try:
                await self._on_dead(fields, reason)
            except Exception:  # the entry is safe in the dead letters; only the notice is lost
                log.exception("%s %s: dead-letter notice failed", self.stream, ids[0])
