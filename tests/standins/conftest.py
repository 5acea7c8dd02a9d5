"""Fixtures for the stand-in tests: servers on free loopback ports and a recording receiver."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from aiohttp import web

Serve = Callable[[web.Application], Awaitable[str]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Runs an app on 127.0.0.1:<free port>; returns its base URL (no trailing slash)."""
    runners: list[web.AppRunner] = []

    async def start(app: web.Application) -> str:
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        port = runner.addresses[0][1]
        return f"http://127.0.0.1:{port}"

    yield start
    for runner in reversed(runners):
        await runner.cleanup()


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A tiny HTTP endpoint standing in for the bridge: records every request, answers
    `fail_status` to the first `fail_first` of them, and can be held closed by `gate`."""

    fail_first: int = 0
    fail_status: int = 500
    requests: list[Received] = field(default_factory=list)
    gate: asyncio.Event | None = None
    handler: Callable[[web.Request, bytes], Awaitable[web.StreamResponse]] | None = None
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        if self.gate is not None:
            await self.gate.wait()
        async with self._changed:
            self.requests.append(Received(dict(request.headers), body))
            failing = len(self.requests) <= self.fail_first
            self._changed.notify_all()
        if failing:
            return web.Response(status=self.fail_status, text="not now")
        if self.handler is not None:
            return await self.handler(request, body)
        return web.Response(text="ok")

    async def wait_for(self, count: int, within: float = 5.0) -> list[Received]:
        """The requests so far, once at least `count` arrived (fails after `within` s)."""
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: len(self.requests) >= count)
        return self.requests


@pytest.fixture
async def receiver(serve: Serve) -> tuple[Receiver, str]:
    rec = Receiver()
    app = web.Application()
    app.router.add_post("/{tail:.*}", rec.handle)
    url = await serve(app)
    return rec, url


async def eventually(
    check: Callable[[], Awaitable[bool]], within: float = 5.0, what: str = "condition"
) -> None:
    """Waits until `check()` holds, re-checking briefly, failing after `within` seconds."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


Eventually = Callable[..., Awaitable[None]]


@pytest.fixture(name="eventually")
def eventually_fixture() -> Eventually:
    return eventually
