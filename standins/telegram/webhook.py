"""Update delivery like Telegram's, both ways: by webhook (one update at a time, in order,
retried with back-off until the receiver answers 2xx), or, while no webhook is set, to
getUpdates (an update waits until a getUpdates call's offset confirms it, and is handed out
again until then). Updates queued while the bridge restarts are delivered after.

An update's status in /_test/updates: "pending" until the webhook took it (2xx) or an offset
confirmed it, then "delivered"; "attempts" counts the webhook calls or the getUpdates answers
that carried it; "filtered" (not in allowed_updates) and "dropped" (drop_pending_updates, or a
negative offset) were never delivered."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import aiohttp

from .state import BotState, TelegramError, UpdateRecord, now

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
    "the webhook first"
)
CONFLICT_POLL = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is "
    "running"
)
CONFLICT_SET_WEBHOOK = "Conflict: terminated by setWebhook request"
_ANSWER_NOW = ""  # ends a long poll with what there is (the stand-in is shutting down)


class Webhook:
    def __init__(
        self, state: BotState, retry_initial: float, retry_max: float, timeout: float
    ) -> None:
        self.state = state
        self.url: str | None = None
        self.secret: str | None = None
        self.allowed_updates: list[str] | None = None
        self.last_error_date: int | None = None
        self.last_error_message: str | None = None
        self._retry_initial = retry_initial
        self._retry_max = retry_max
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._cursor = 0  # every update before this index is settled
        self._wake = asyncio.Event()  # a new update or a webhook change
        self._changed = asyncio.Event()  # a webhook change ends a back-off early
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None
        # The getUpdates call waiting for an update: resolved with None to look again, or with
        # the Conflict it is ended by.
        self._long_poll: asyncio.Future[str | None] | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=self._timeout)
        self._task = asyncio.create_task(self._run())

    def end_long_poll(self) -> None:
        """At shutdown: answer a waiting getUpdates now instead of keeping the server up."""
        self._end_long_poll(_ANSWER_NOW)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._session is not None:
            await self._session.close()

    def configure(
        self, url: str | None, secret: str | None, allowed: list[str] | None, drop: bool
    ) -> None:
        self.url, self.secret = url or None, secret or None
        if allowed is not None:
            self.allowed_updates = allowed or None  # [] means "the default set"
        if drop:
            for record in self.pending():
                record.status = "dropped"
        if self.url:
            self._end_long_poll(CONFLICT_SET_WEBHOOK)
        self._changed.set()
        self.notify()

    def notify(self) -> None:
        self._wake.set()
        if self._long_poll is not None and not self._long_poll.done():
            self._long_poll.set_result(None)

    @property
    def long_polling(self) -> bool:
        """A getUpdates call is waiting for an update."""
        return self._long_poll is not None and not self._long_poll.done()

    def _end_long_poll(self, conflict: str) -> None:
        if self._long_poll is not None and not self._long_poll.done():
            self._long_poll.set_result(conflict)

    async def get_updates(
        self, offset: int, limit: int, wait_s: int, allowed: list[str] | None
    ) -> list[Any]:
        """getUpdates, as the Bot API answers it: `offset` confirms every update below it (a
        negative one keeps only the last -offset); the first `limit` unconfirmed updates come
        back at once, or, with none, the call waits up to `wait_s` seconds (its `timeout`)
        for one. A second call that waits ends the first with 409 Conflict, as a webhook being
        set does."""
        if self.url:
            raise TelegramError(409, CONFLICT_WEBHOOK)
        if allowed is not None:
            self.allowed_updates = allowed or None
        self._confirm(offset)
        found = self._unconfirmed(limit)
        if found or wait_s <= 0:
            return self._hand_out(found)
        self._end_long_poll(CONFLICT_POLL)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        while True:
            waiter: asyncio.Future[str | None] = loop.create_future()
            self._long_poll = waiter
            try:
                conflict = await asyncio.wait_for(waiter, max(0.0, deadline - loop.time()))
            except TimeoutError:
                return []
            finally:
                if self._long_poll is waiter:
                    self._long_poll = None
            if conflict:
                raise TelegramError(409, conflict)
            found = self._unconfirmed(limit)
            if found or conflict == _ANSWER_NOW:
                return self._hand_out(found)

    def _confirm(self, offset: int) -> None:
        unconfirmed = self.pending()
        if offset < 0:
            for record in unconfirmed[: max(0, len(unconfirmed) + offset)]:
                record.status = "dropped"  # "all previous updates will be forgotten"
            return
        for record in unconfirmed:
            if record.update_id < offset:
                record.status = "delivered"
                record.last_error = None

    def _unconfirmed(self, limit: int) -> list[UpdateRecord]:
        found = []
        for record in self.pending():
            if self.allowed_updates is not None and record.kind not in self.allowed_updates:
                record.status = "filtered"
                continue
            found.append(record)
            if len(found) == limit:
                break
        return found

    @staticmethod
    def _hand_out(records: list[UpdateRecord]) -> list[Any]:
        for record in records:
            record.attempts += 1
        return [record.payload for record in records]

    def pending(self) -> list[UpdateRecord]:
        return [r for r in self.state.updates[self._cursor :] if r.status == "pending"]

    def _next(self) -> UpdateRecord | None:
        updates = self.state.updates
        while self._cursor < len(updates) and updates[self._cursor].status != "pending":
            self._cursor += 1
        return updates[self._cursor] if self._cursor < len(updates) else None

    async def _run(self) -> None:
        failures = 0
        while True:
            self._wake.clear()
            record = self._next()
            if record is None or self.url is None:
                await self._wake.wait()
                continue
            if self.allowed_updates is not None and record.kind not in self.allowed_updates:
                record.status = "filtered"
                continue
            self._changed.clear()
            if await self._post(record):
                failures = 0
                continue
            failures += 1
            delay = min(self._retry_max, self._retry_initial * 2 ** (failures - 1))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), delay)

    async def _post(self, record: UpdateRecord) -> bool:
        assert self._session is not None and self.url is not None
        headers = {"Content-Type": "application/json"}
        if self.secret:
            headers[SECRET_HEADER] = self.secret
        record.attempts += 1
        try:
            async with self._session.post(
                self.url, data=json.dumps(record.payload), headers=headers
            ) as resp:
                await resp.read()
                if 200 <= resp.status < 300:
                    record.status = "delivered"
                    record.last_error = None
                    return True
                error = f"Wrong response from the webhook: {resp.status} {resp.reason}"
        except TimeoutError:
            error = "Timeout expired"
        except aiohttp.ClientError as exc:
            error = f"Connection failed: {exc!r}"
        record.last_error = self.last_error_message = error
        self.last_error_date = now()
        return False
