"""Lets a shutdown wait for work that must not be cut in half, and only for that.

A sender marks the stretch from calling the platform to acknowledging the entry in Redis. On
SIGTERM the app waits for that stretch to end, then cancels the sender wherever else it is
(reading, backing off): whatever it had not started stays unacknowledged in Redis and is
resumed by the next process under the same consumer name.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class InFlight:
    def __init__(self) -> None:
        self._stopping = False
        self._idle = asyncio.Event()
        self._idle.set()

    @asynccontextmanager
    async def step(self) -> AsyncIterator[None]:
        if self._stopping:
            # Start nothing new; park here until the shutdown cancels this task.
            await asyncio.Event().wait()
        self._idle.clear()
        try:
            yield
        finally:
            self._idle.set()

    async def stop(self, grace_s: float) -> bool:
        """Refuse new steps and wait for the current one; False if it outlived the grace."""
        self._stopping = True
        try:
            await asyncio.wait_for(self._idle.wait(), grace_s)
        except TimeoutError:
            return False
        return True
