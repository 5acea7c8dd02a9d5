"""Telegram long polling: the bridge asks for updates (getUpdates) when no public address lets
Telegram call its webhook (TELEGRAM_UPDATES=polling).

Each update goes through the webhook's own handling (TelegramWebhook.handle_update), so it means
the same whichever way it came. Nothing is lost and nothing doubled:

- An update is confirmed to Telegram (by asking with an offset above its update_id) only once it
  was handled: recorded in Redis and answered, as the webhook answers 200 only then. Every
  update below the offset is handled; one still in hand holds the offset back.
- One that fails (Redis away, say) is retried, with back-off, as Telegram retries a webhook
  that answered 5xx; meanwhile that customer's later updates wait, other customers' go on.
- A process that dies loses only the confirmations it had not sent: Telegram delivers those
  updates again (to this process restarted, or to another replica), and the router recognises
  each by its update_id: it is recorded and answered once (bridge/store/transcript.py).

Several customers are handled at once, one customer's updates in order. While some are in hand
Telegram answers getUpdates at once (they are not confirmed yet), so the poller asks again
only when one is done, or every BUSY_POLL_S for newer ones, instead of long-polling.

Telegram serves one getUpdates at a time per bot (a second one ends the first with 409
Conflict), so of several replicas only the one holding a Redis lease (keys.TELEGRAM_POLLER)
polls; the others take over within LEASE_TTL_MS if it stops renewing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from redis.asyncio import Redis
from telegram import Bot, Update
from telegram.error import BadRequest, Conflict, NetworkError, RetryAfter, TelegramError

from bridge import keys
from bridge.platforms.telegram.webhook import ALLOWED_UPDATES, Outcome

log = logging.getLogger(__name__)

# How long one getUpdates waits for an update (Telegram allows up to 50 s). ptb lets the HTTP
# read wait this much longer than its read timeout, so the poll is never cut off as "timed out".
POLL_TIMEOUT_S = 30
# Telegram answers at most 100 updates per getUpdates.
BATCH_LIMIT = 100
# While updates are in hand: ask again for newer ones at least this often.
BUSY_POLL_S = 1.0
# Back-off after a failed getUpdates or a failed update, doubling up to the maximum.
BACKOFF_INITIAL_S = 0.5
BACKOFF_MAX_S = 30.0
# The poller's lease: renewed every tick, trusted locally until SAFETY_S before it expires.
LEASE_TTL_MS = 15_000
LEASE_TICK_S = 3.0
SAFETY_S = 2.0
# At shutdown, the offset of what was handled is sent with this much patience.
CONFIRM_TIMEOUT_S = 3.0

_HINTS = {
    "webhook is active": "a webhook was set for this bot after the bridge deleted it: another "
    "deployment uses the same bot token (give each its own bot), or set TELEGRAM_UPDATES=webhook "
    "with a public BRIDGE_PUBLIC_URL",
    "terminated by other getUpdates": "another process polls with the same bot token (another "
    "deployment, or a replica on another Redis): give each deployment its own bot",
}

# KEYS: the lease; ARGV: me, ttl (ms). Takes a free lease or renews mine; 1 if mine now.
_TAKE = """
local owner = redis.call('GET', KEYS[1])
if owner == false or owner == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class UpdateHandler(Protocol):
    async def handle_update(self, update: Update) -> Outcome: ...


class Backoff:
    def __init__(self, initial_s: float = BACKOFF_INITIAL_S, max_s: float = BACKOFF_MAX_S) -> None:
        self._initial_s, self._max_s = initial_s, max_s
        self.failures = 0

    def next_delay(self) -> float:
        self.failures += 1
        return float(min(self._max_s, self._initial_s * 2 ** (self.failures - 1)))

    def reset(self) -> None:
        self.failures = 0


class PollerLease:
    """One replica polls at a time: the one holding this lease."""

    def __init__(self, redis: Redis, instance: str, ttl_ms: int = LEASE_TTL_MS) -> None:
        self._redis = redis
        self._instance = instance
        self._ttl_ms = ttl_ms
        self._take = redis.register_script(_TAKE)
        self._release = redis.register_script(_RELEASE)
        self._trusted_until = 0.0

    def held(self) -> bool:
        return time.monotonic() < self._trusted_until

    async def take(self) -> bool:
        """Take it when free, renew it when mine (a restarted process under the same
        BRIDGE_INSTANCE gets its own lease back at once)."""
        asked = time.monotonic()
        taken = await self._take(keys=[keys.TELEGRAM_POLLER], args=[self._instance, self._ttl_ms])
        mine = bool(taken)
        self._trusted_until = asked + self._ttl_ms / 1000 - SAFETY_S if mine else 0.0
        return mine

    async def owner(self) -> str | None:
        value = await self._redis.get(keys.TELEGRAM_POLLER)
        return value.decode() if isinstance(value, bytes) else value

    async def release(self) -> None:
        self._trusted_until = 0.0
        await self._release(keys=[keys.TELEGRAM_POLLER], args=[self._instance])


@dataclass
class _Window:
    """The updates received and not yet confirmed to Telegram."""

    in_hand: dict[int, asyncio.Task[None]] = field(default_factory=dict)
    # Handled, but above the offset (an earlier one is still in hand): skipped when redelivered.
    done: set[int] = field(default_factory=set)
    highest: int | None = None

    def offset(self) -> int | None:
        """What to ask getUpdates with: everything below it is handled (None: nothing seen)."""
        for update_id, task in list(self.in_hand.items()):
            if _handled(task):
                del self.in_hand[update_id]
                self.done.add(update_id)
        if self.highest is None:
            return None
        offset = min(self.in_hand) if self.in_hand else self.highest + 1
        self.done = {u for u in self.done if u >= offset}
        return offset

    def is_new(self, update_id: int) -> bool:
        return update_id not in self.in_hand and update_id not in self.done

    def busy(self) -> list[asyncio.Task[None]]:
        return [t for t in self.in_hand.values() if not t.done()]


class TelegramPoller:
    def __init__(
        self,
        bot: Bot,
        handler: UpdateHandler,
        lease: PollerLease,
        allowed_updates: Sequence[str] = ALLOWED_UPDATES,
        poll_timeout_s: int = POLL_TIMEOUT_S,
        lease_tick_s: float = LEASE_TICK_S,
        backoff: Callable[[], Backoff] = Backoff,
    ) -> None:
        self._bot = bot
        self._handler = handler
        self._lease = lease
        self._allowed = list(allowed_updates)
        self._poll_timeout_s = poll_timeout_s
        self._lease_tick_s = lease_tick_s
        self._backoff = backoff
        self._window = _Window()
        self._tails: dict[int, asyncio.Task[None]] = {}  # per chat: its latest update in hand
        self._run_task: asyncio.Task[None] | None = None
        self._session: asyncio.Task[None] | None = None
        self._stopped = False
        self.polling = asyncio.Event()  # set while this replica polls (for tests and logs)

    def start(self) -> None:
        self._run_task = asyncio.create_task(self._run())

    async def stop(self, grace_s: float) -> None:
        """Stop asking; let updates in hand finish (up to `grace_s`); confirm what was handled;
        free the lease so another replica polls at once. What was not handled is delivered
        again to the next poller."""
        if self._stopped:
            return
        self._stopped = True
        for task in (self._run_task, self._session):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self.polling.clear()
        busy = self._window.busy()
        if busy:
            _done, unfinished = await asyncio.wait(busy, timeout=grace_s)
            for task in unfinished:
                task.cancel()
            if unfinished:
                log.warning(
                    "%d Telegram updates were not handled before shutdown; Telegram delivers "
                    "them again",
                    len(unfinished),
                )
                await asyncio.wait(unfinished)
        if self._lease.held():
            await self._confirm()
            try:
                await self._lease.release()
            except Exception as exc:  # it expires on its own
                log.warning("could not release the Telegram polling lease: %s", exc)

    async def _run(self) -> None:
        """Poll while this replica holds the lease; wait for it otherwise."""
        waiting_for: str | None = None
        while True:
            try:
                mine = await self._lease.take()
            except Exception as exc:  # Redis away: the lease is trusted until it would expire
                log.warning("Telegram polling lease not renewed: %s", exc)
                mine = self._lease.held()
            polling = self._session is not None and not self._session.done()
            if mine and not polling:
                if self._session is not None and not self._session.cancelled():
                    error = self._session.exception()
                    if error is not None:
                        log.error("Telegram polling stopped", exc_info=error)
                self._session = asyncio.create_task(self._poll())
                waiting_for = None
            elif not mine and polling:
                assert self._session is not None
                log.warning("lost the Telegram polling lease: another replica polls now")
                self._session.cancel()
                self.polling.clear()
            elif not mine and waiting_for is None:
                with contextlib.suppress(Exception):
                    waiting_for = await self._lease.owner() or "?"
                    log.info("replica %s polls Telegram; this one waits its turn", waiting_for)
            await asyncio.sleep(self._lease_tick_s)

    async def _poll(self) -> None:
        backoff = self._backoff()
        webhook_deleted = False
        while True:
            try:
                if not webhook_deleted:
                    # Telegram refuses getUpdates while a webhook is set (409 Conflict).
                    await self._bot.delete_webhook(drop_pending_updates=False)
                    webhook_deleted = True
                    log.info("polling Telegram for updates (getUpdates; no webhook)")
                    self.polling.set()
                updates = await self._fetch()
            except RetryAfter as exc:
                await asyncio.sleep(max(_seconds(exc.retry_after), backoff.next_delay()))
                continue
            except Conflict as exc:
                hint = next((h for k, h in _HINTS.items() if k in exc.message), "")
                delay = backoff.next_delay()
                log.error(
                    "Telegram refused getUpdates (%s): %s; retrying in %.1fs",
                    exc.message,
                    hint or "see docs/deployment.md",
                    delay,
                )
                await asyncio.sleep(delay)
                continue
            except BadRequest as exc:  # before NetworkError: ptb counts it as one
                delay = backoff.next_delay()
                log.error("Telegram refused getUpdates: %s; retrying in %.1fs", exc.message, delay)
                await asyncio.sleep(delay)
                continue
            except NetworkError as exc:  # unreachable, timed out, 5xx
                delay = backoff.next_delay()
                log.warning("Telegram unreachable (getUpdates): %s; retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                continue
            except (TelegramError, ValueError, TypeError, KeyError) as exc:
                # An invalid token, or an answer ptb cannot read.
                delay = backoff.next_delay()
                log.error("getUpdates failed: %s; retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                continue
            backoff.reset()
            for update in updates:
                self._take(update)

    async def _fetch(self) -> tuple[Update, ...]:
        busy = self._window.busy()
        if busy:
            # Telegram would answer at once with these again: wait for one, or a moment.
            await asyncio.wait(busy, timeout=BUSY_POLL_S, return_when=asyncio.FIRST_COMPLETED)
        offset = self._window.offset()
        timeout = 0 if self._window.busy() else self._poll_timeout_s
        return await self._bot.get_updates(
            offset=offset, limit=BATCH_LIMIT, timeout=timeout, allowed_updates=self._allowed
        )

    def _take(self, update: Update) -> None:
        window = self._window
        update_id = update.update_id
        if not window.is_new(update_id):
            return  # in hand, or handled and not yet confirmed
        window.highest = update_id if window.highest is None else max(window.highest, update_id)
        chat = update.effective_chat
        key = chat.id if chat is not None else None
        before = self._tails.get(key) if key is not None else None
        task = asyncio.create_task(self._handle(update, before))
        window.in_hand[update_id] = task
        if key is not None:
            self._tails[key] = task
            task.add_done_callback(lambda done: self._forget_tail(key, done))

    def _forget_tail(self, chat: int, task: asyncio.Task[None]) -> None:
        if self._tails.get(chat) is task:
            del self._tails[chat]

    async def _handle(self, update: Update, before: asyncio.Task[None] | None) -> None:
        if before is not None:
            await asyncio.wait([before])  # the customer's earlier update first (never raises)
        backoff = self._backoff()
        while True:
            try:
                outcome = await self._handler.handle_update(update)
            except Exception as exc:
                delay = backoff.next_delay()
                log.warning(
                    "Telegram update %s not handled (attempt %d): %s; retrying in %.1fs",
                    update.update_id,
                    backoff.failures,
                    exc,
                    delay,
                )
                await asyncio.sleep(delay)
                continue
            if outcome is Outcome.NOT_AN_UPDATE:
                log.warning("Telegram update %s is not one the bridge can read", update.update_id)
            return

    async def _confirm(self) -> None:
        """Tell Telegram what was handled (the next poller would otherwise get it again, and
        find each one already recorded)."""
        offset = self._window.offset()
        if offset is None:
            return
        try:
            await asyncio.wait_for(
                self._bot.get_updates(offset=offset, limit=1, timeout=0), CONFIRM_TIMEOUT_S
            )
        except Exception as exc:
            log.info("could not confirm handled Telegram updates at shutdown: %s", exc)


def _handled(task: asyncio.Task[None]) -> bool:
    """Finished handling its update (one cancelled at shutdown was not: it stays unconfirmed)."""
    return task.done() and not task.cancelled() and task.exception() is None


def _seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
