"""Webhook delivery like Telegram's: one update at a time, in order, retried with back-off until
the receiver answers 2xx, so updates queued while the bridge restarts are delivered after."""

from __future__ import annotations

import asyncio
import contextlib
import json

import aiohttp

from .state import BotState, UpdateRecord, now

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


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

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=self._timeout)
        self._task = asyncio.create_task(self._run())

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
        self._changed.set()
        self.notify()

    def notify(self) -> None:
        self._wake.set()

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
