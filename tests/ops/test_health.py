"""/healthz and /readyz as a load balancer or Kubernetes sees them."""

from __future__ import annotations

from typing import Any

import aiohttp

from devstack.stack import Stack
from tests.support import eventually, inject_fault


async def _get(url: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, await response.json()


async def test_ready_when_every_dependency_answers(stack: Stack) -> None:
    assert await _get(f"{stack.bridge_url}/healthz") == (200, {"ok": True})
    status, body = await _get(f"{stack.bridge_url}/readyz")
    assert status == 200, body
    assert body["ready"] is True and body["failed"] == []
    assert set(body["checks"]) == {"redis", "rasa", "slack", "telegram"}


async def test_not_ready_names_the_dependency_that_failed(stack: Stack) -> None:
    await inject_fault(stack.telegram_url, "getMe", 502)
    # Readiness is cached for a few seconds: the next check that runs meets the fault.
    url = f"{stack.bridge_url}/readyz"
    _, body = await eventually(
        lambda: _get(url), lambda r: r[0] == 503, timeout_s=15, what="not ready"
    )
    assert body["ready"] is False and body["failed"] == ["telegram"]
    assert "getMe" in body["checks"]["telegram"]["detail"]
    # Once Telegram answers again, so does readiness.
    _, body = await eventually(
        lambda: _get(url), lambda r: r[0] == 200, timeout_s=15, what="ready again"
    )
    assert body["ready"] is True, body
