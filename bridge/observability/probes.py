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

from bridge.rasa_servers import parse_urls

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


class Detail(str):
    """A probe's one-line description, with facts that /readyz also reports as fields."""

    fields: dict[str, object]

    def __new__(cls, text: str, **fields: object) -> Detail:
        detail = super().__new__(cls, text)
        detail.fields = fields
        return detail


async def rasa(http: aiohttp.ClientSession, base_url: str) -> str:
    """Rasa answers, and has a model loaded: which one (GET /status: the archive's file name
    and the model_id Rasa gave it when it was trained; the training date is not served over
    HTTP, `make status` reads it from the archive by that id).

    With several servers (RASA_URL a comma-separated list) it passes while one of them does
    (the bridge fails turns over to it); the line names every server that does not, the
    `servers` field has each one's result and `model` is the first healthy one's.
    """
    urls = parse_urls(base_url)
    if len(urls) <= 1:
        return await _one_rasa(http, urls[0] if urls else base_url)
    results = await asyncio.gather(*(_one_rasa(http, url) for url in urls), return_exceptions=True)
    up = [(u, r) for u, r in zip(urls, results, strict=True) if isinstance(r, Detail)]
    down = [(u, r) for u, r in zip(urls, results, strict=True) if not isinstance(r, Detail)]
    servers = {
        u: {"ok": isinstance(r, Detail), "detail": str(r)}
        for u, r in zip(urls, results, strict=True)
    }
    if not up:
        raise ProbeFailed("no Rasa server usable: " + "; ".join(str(r) for _, r in down))
    line = f"{len(up)} of {len(urls)} Rasa servers up; {up[0][0]}: {up[0][1]}"
    if down:
        line += "; down: " + "; ".join(str(r) for _, r in down)
    return Detail(line, model=up[0][1].fields.get("model"), servers=servers)


async def _one_rasa(http: aiohttp.ClientSession, base_url: str) -> Detail:
    base = base_url.rstrip("/")
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
    try:
        async with http.get(base + "/", timeout=timeout) as response:
            body = (await response.text())[:80]
        if response.status != 200:
            raise ProbeFailed(f"Rasa at {base_url} answered HTTP {response.status}")
        async with http.get(base + "/status", timeout=timeout) as status:
            loaded = await status.json(content_type=None) if status.status == 200 else None
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise ProbeFailed(f"Rasa unreachable at {base_url}: {exc or type(exc).__name__}") from None
    except ValueError:  # /status answered something that is not JSON
        loaded = None
    if status.status == 409:
        raise ProbeFailed(f"Rasa at {base_url} has no model loaded") from None
    if not isinstance(loaded, dict):
        raise ProbeFailed(f"Rasa at {base_url} answered /status with HTTP {status.status}")
    model = {"file": loaded.get("model_file"), "model_id": loaded.get("model_id")}
    return Detail(
        f"{body.strip()}; model {model['file']} ({model['model_id']})",
        model=model,
    )
