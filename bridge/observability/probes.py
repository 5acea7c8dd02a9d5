"""Reachability checks shared by /readyz and `python -m bridge.deploy_check`.

Each probe returns a one-line description of what it found and raises ProbeFailed, with what
to fix, when the dependency is not usable. Slack's and Telegram's are in their platform
packages (probes.py there).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

import aiohttp
from redis.asyncio import Redis

T = TypeVar("T")
TIMEOUT_S = 5.0


class ProbeFailed(Exception):
    pass


async def within(step: Awaitable[T], what: str) -> T:
    try:
        return await asyncio.wait_for(step, TIMEOUT_S)
    except TimeoutError:
        raise ProbeFailed(f"{what} did not answer within {TIMEOUT_S:.0f}s") from None


async def redis(client: Redis) -> str:
    try:
        await within(client.ping(), "Redis")
    except Exception as exc:  # redis-py wraps socket errors in its own classes
        raise ProbeFailed(f"Redis unreachable: {exc}") from None
    return "PING answered"


async def rasa(http: aiohttp.ClientSession, base_url: str) -> str:
    try:
        async with http.get(
            base_url.rstrip("/") + "/", timeout=aiohttp.ClientTimeout(total=TIMEOUT_S)
        ) as response:
            body = (await response.text())[:80]
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise ProbeFailed(f"Rasa unreachable at {base_url}: {exc or type(exc).__name__}") from None
    if response.status != 200:
        raise ProbeFailed(f"Rasa at {base_url} answered HTTP {response.status}")
    return body.strip()
