"""The operator's endpoints as the outside sees them: closed without the token, cheap to ask
often, and a log that gives away no file and no token."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any

import aiohttp

from devstack.processes import Service, free_port
from devstack.stack import Stack
from tests.desk.helpers import WidgetCustomer
from tests.ops.conftest import bridge_env, non_loopback_address
from tests.support import eventually

REDIS_DB = 15
TOKEN = "ops-token-for-the-tests-5f0c2a9e"
OPS_PATHS = ("/metrics", "/readyz")
# How a proxy on the bridge's own host says whom it relays (the last is the bridge's setting).
RELAYED = (
    {"X-Forwarded-For": "203.0.113.7"},
    {"Forwarded": "for=203.0.113.7"},
    {"X-Real-IP": "203.0.113.7"},
    {"X-Client-Address": "203.0.113.7"},
)


async def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, Any, Any]:
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as response:
        text = await response.text()
        try:
            body: Any = json.loads(text)
        except ValueError:
            body = text
        return response.status, body, response.headers


async def _start(
    stack: Stack, extra_bridge: Callable[[dict[str, str]], Service], **env: str
) -> int:
    port = free_port()
    bridge = extra_bridge(bridge_env(stack, REDIS_DB, port) | env)
    await asyncio.to_thread(bridge.start)
    return port


async def test_ops_endpoints_answer_this_host_or_the_token_only(
    stack: Stack, extra_bridge: Callable[[dict[str, str]], Service]
) -> None:
    port = await _start(
        stack,
        extra_bridge,
        BRIDGE_HOST="0.0.0.0",
        BRIDGE_OPS_TOKEN=TOKEN,
        BRIDGE_CLIENT_ADDRESS_HEADER="X-Client-Address",
    )
    local = f"http://127.0.0.1:{port}"
    bearer = {"Authorization": f"Bearer {TOKEN}"}

    # On the bridge's own host (devstack, the bench, a local scraper) nothing changes.
    for path in OPS_PATHS:
        status, body, _ = await _get(local + path)
        assert status == 200, (path, body)

    # Relayed by a proxy on the same host, a request is not local: it needs the token, and the
    # refusal says how to get in.
    for relayed in RELAYED:
        for path in OPS_PATHS:
            status, body, headers = await _get(local + path, relayed)
            assert status == 401, (path, relayed, body)
            assert body["error"] == "unauthorized" and "BRIDGE_OPS_TOKEN" in body["message"]
            assert headers["WWW-Authenticate"].startswith("Bearer")
            status, body, _ = await _get(
                local + path, relayed | {"Authorization": "Bearer not-the-token"}
            )
            assert status == 403 and body["error"] == "forbidden", (path, relayed, body)
            status, body, _ = await _get(local + path, relayed | bearer)
            assert status == 200, (path, relayed, body)
    status, body, _ = await _get(local + "/metrics", RELAYED[0] | bearer)
    assert "bridge_messages_total" in body
    status, body, _ = await _get(local + "/readyz", RELAYED[0] | bearer)
    assert body["ready"] is True, body

    # Liveness stays public and cheap.
    assert (await _get(local + "/healthz", RELAYED[0]))[:2] == (200, {"ok": True})

    # From another address of this machine: a real non-loopback peer.
    address = non_loopback_address()
    if address is not None:
        remote = f"http://{address}:{port}"
        for path in OPS_PATHS:
            status, body, _ = await _get(remote + path)
            assert status == 401 and "BRIDGE_OPS_TOKEN" in body["message"], (path, body)
            status, body, _ = await _get(remote + path, bearer)
            assert status == 200, (path, body)
        assert (await _get(remote + "/healthz"))[:2] == (200, {"ok": True})


async def test_without_a_token_a_proxied_request_is_told_to_set_one(stack: Stack) -> None:
    for path in OPS_PATHS:
        status, body, _ = await _get(stack.bridge_url + path, RELAYED[0])
        assert status == 403, (path, body)
        assert "set BRIDGE_OPS_TOKEN" in body["message"], body


async def _auth_tests(stack: Stack) -> int:
    async with aiohttp.ClientSession() as http, http.get(f"{stack.slack_url}/_test/calls") as r:
        calls: dict[str, int] = await r.json()
    return calls.get("auth.test", 0)


async def test_readiness_asks_slack_once_however_many_ask_for_it(
    stack: Stack, extra_bridge: Callable[[dict[str, str]], Service]
) -> None:
    port = await _start(stack, extra_bridge)
    readyz = f"http://127.0.0.1:{port}/readyz"
    before = await _auth_tests(stack)

    at_once = await asyncio.gather(*(_get(readyz) for _ in range(25)))
    one_by_one = [await _get(readyz) for _ in range(10)]
    for status, body, _ in [*at_once, *one_by_one]:
        assert status == 200 and body["ready"] is True, body
        assert "slack" in body["checks"], body
    assert await _auth_tests(stack) - before <= 1

    # The answer is kept for a few seconds, not for ever: a later request asks Slack again.
    async def probed_again() -> int:
        await _get(readyz)
        return await _auth_tests(stack)

    await eventually(probed_again, lambda n: n > before + 1, timeout_s=20, what="a fresh probe")


async def test_access_log_names_no_file_and_no_query_value(stack: Stack) -> None:
    bridge = stack.services["bridge"]
    offset = bridge.log_path.stat().st_size
    agent = {"User-Agent": f"ops-log-test-{uuid.uuid4().hex}"}
    name = f"invoice-{uuid.uuid4().hex[:12]}.txt"
    secret = f"sekret-{uuid.uuid4().hex}"

    async with WidgetCustomer(stack.bridge_url) as customer, aiohttp.ClientSession() as http:
        async with http.post(
            f"{stack.bridge_url}/widget/upload?name={name}",
            data=b"the customer's invoice",
            headers=agent | {"Authorization": f"Bearer {customer.token}"},
        ) as response:
            assert response.status == 200, await response.text()
            file_id = (await response.json())["file_id"]
        async with http.get(
            f"{stack.bridge_url}/widget/files/{file_id}/{name}", headers=agent
        ) as response:
            assert response.status == 200 and await response.read() == b"the customer's invoice"
        async with http.get(
            f"{stack.bridge_url}/widget/files/{file_id}/{name}?token={secret}", headers=agent
        ) as response:
            assert response.status == 200
        async with http.get(f"{stack.bridge_url}/healthz?token={secret}", headers=agent) as r:
            assert r.status == 200

    async def written() -> str:
        with bridge.log_path.open("rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")

    def ours(text: str) -> list[str]:
        return [line for line in text.splitlines() if agent["User-Agent"] in line]

    text = await eventually(written, lambda t: len(ours(t)) >= 4, what="four access lines")
    assert file_id not in text and name not in text and secret not in text, ours(text)
    requests = sorted(json.loads(line)["first_request_line"] for line in ours(text))
    assert requests == [
        "GET /healthz?token=<redacted> HTTP/1.1",
        "GET /widget/files/<redacted> HTTP/1.1",
        "GET /widget/files/<redacted>?token=<redacted> HTTP/1.1",
        "POST /widget/upload?name=<redacted> HTTP/1.1",
    ], requests
