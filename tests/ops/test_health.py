"""/healthz and /readyz as a load balancer or Kubernetes sees them."""

from __future__ import annotations

from typing import Any

import aiohttp

from devstack.stack import Stack


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
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{stack.telegram_url}/_test/faults",
            json={"method": "getMe", "status": 502, "count": 1},
        ) as response,
    ):
        assert response.status == 200
    status, body = await _get(f"{stack.bridge_url}/readyz")
    assert status == 503, body
    assert body["ready"] is False and body["failed"] == ["telegram"]
    assert "getMe" in body["checks"]["telegram"]["detail"]
    # Once Telegram answers again, so does readiness.
    status, body = await _get(f"{stack.bridge_url}/readyz")
    assert status == 200, body
