"""The Slack stand-in's Socket Mode, driven by slack_sdk's own Socket Mode client (aiohttp)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from standins.slack import SlackConfig, create_app

ROOT = Path(__file__).resolve().parents[2]
APP_TOKEN = "xapp-1-test-app"
FAST_RETRIES = (0.01, 0.01, 0.01)
Listener = Callable[[SocketModeClient, SocketModeRequest], Awaitable[None]]


class Envelopes:
    """Every envelope a client got, in order, and a way to wait for some."""

    def __init__(self) -> None:
        self.seen: list[SocketModeRequest] = []
        self.raw: list[dict[str, Any]] = []
        self.client: SocketModeClient | None = None
        self._changed = asyncio.Condition()

    async def add(self, request: SocketModeRequest) -> None:
        async with self._changed:
            self.seen.append(request)
            self._changed.notify_all()

    async def on_message(self, message: aiohttp.WSMessage) -> None:
        async with self._changed:
            self.raw.append(json.loads(message.data))
            self._changed.notify_all()

    async def wait_for(self, count: int, within: float = 10.0) -> list[SocketModeRequest]:
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: len(self.seen) >= count)
        return self.seen

    async def wait_raw(self, kind: str, within: float = 10.0) -> dict[str, Any]:
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: any(m.get("type") == kind for m in self.raw))
        return next(m for m in self.raw if m.get("type") == kind)


@pytest.fixture
async def slack(serve: Any) -> str:
    config = SlackConfig(
        signing_secret="unused",
        events_url="http://127.0.0.1:9/never-called",  # Socket Mode: request URLs unused
        retry_delays=FAST_RETRIES,
        socket_mode=True,
        app_token=APP_TOKEN,
    )
    return str(await serve(create_app(config)))


@pytest.fixture
async def connect(slack: str) -> AsyncIterator[Callable[[Listener], Awaitable[Envelopes]]]:
    """`await connect(listener)`: a SocketModeClient on the stand-in; its envelopes recorded,
    then handed to `listener` (which acknowledges them, or not)."""
    clients: list[SocketModeClient] = []

    async def start(listener: Listener) -> Envelopes:
        envelopes = Envelopes()
        web = AsyncWebClient(base_url=f"{slack}/api/")
        client = SocketModeClient(
            app_token=APP_TOKEN, web_client=web, on_message_listeners=[envelopes.on_message]
        )

        async def record(c: SocketModeClient, request: SocketModeRequest) -> None:
            await envelopes.add(request)
            await listener(c, request)

        client.socket_mode_request_listeners.append(record)  # type: ignore[arg-type]
        clients.append(client)
        envelopes.client = client
        await client.connect()
        return envelopes

    yield start
    for client in clients:
        await client.close()


async def ack(client: SocketModeClient, request: SocketModeRequest) -> None:
    await client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id))


async def post(slack: str, text: str) -> str:
    bot = AsyncWebClient(token="xoxb-local", base_url=f"{slack}/api/")
    return str((await bot.chat_postMessage(channel="C0STAFF", text=text))["ts"])


async def deliveries(slack: str) -> list[dict[str, Any]]:
    async with aiohttp.ClientSession() as http, http.get(f"{slack}/_test/deliveries") as r:
        records: list[dict[str, Any]] = await r.json()
    return records


async def test_connection_says_hello_and_events_arrive_as_acknowledged_envelopes(
    connect: Any, slack: str, eventually: Any
) -> None:
    envelopes = await connect(ack)
    hello = await envelopes.wait_raw("hello")
    assert hello["connection_info"] == {"app_id": "A0LOCAL"}
    assert hello["num_connections"] == 1 and "debug_info" in hello

    ts = await post(slack, "New conversation")
    (request,) = await envelopes.wait_for(1)
    assert request.type == "events_api" and request.envelope_id
    assert (request.retry_attempt, request.retry_reason) == (0, "")
    assert request.accepts_response_payload is False
    body = request.payload  # the same event_callback body the HTTP delivery POSTs
    assert body["type"] == "event_callback" and body["event_id"].startswith("Ev")
    assert body["event"]["ts"] == ts and body["event"]["text"] == "New conversation"

    async def delivered() -> bool:
        return [(d["ts"], d["status"], d["attempts"]) for d in await deliveries(slack)] == [
            (ts, "delivered", 1)
        ]

    await eventually(delivered, what="the acknowledged delivery")


async def test_an_unacknowledged_envelope_is_sent_again_with_its_retry_attempt(
    connect: Any, slack: str, eventually: Any
) -> None:
    async def ack_the_second(client: SocketModeClient, request: SocketModeRequest) -> None:
        if request.retry_attempt:
            await ack(client, request)

    envelopes = await connect(ack_the_second)
    await post(slack, "retry me")
    first, again = await envelopes.wait_for(2, within=10)  # 3 s without an ack, then again
    assert first.payload == again.payload and first.envelope_id != again.envelope_id
    assert (again.retry_attempt, again.retry_reason) == (1, "timeout")

    async def delivered() -> bool:
        return [(d["status"], d["attempts"]) for d in await deliveries(slack)] == [("delivered", 2)]

    await eventually(delivered, within=5, what="delivered on the second attempt")


async def test_events_wait_for_a_connection_and_a_reconnect_gets_what_was_not_acked(
    connect: Any, slack: str, eventually: Any
) -> None:
    ts = await post(slack, "sent while nobody listens")
    held = asyncio.Event()

    async def never_ack(_client: SocketModeClient, _request: SocketModeRequest) -> None:
        held.set()

    first = await connect(never_ack)
    (request,) = await first.wait_for(1)
    assert request.payload["event"]["ts"] == ts
    async with asyncio.timeout(5):
        await held.wait()
    # That app stops before acknowledging (a crash, a restart); the next one gets the event.
    assert first.client is not None
    await first.client.close()

    async def closed() -> bool:
        async with aiohttp.ClientSession() as http, http.get(f"{slack}/_test/socket") as r:
            return bool((await r.json())["connections"] == 0)

    await eventually(closed, what="the first connection closed")
    second = await connect(ack)
    (again,) = await second.wait_for(1, within=10)
    assert again.payload == request.payload and again.retry_attempt == 1

    async def delivered() -> bool:
        return [(d["status"], d["attempts"]) for d in await deliveries(slack)] == [("delivered", 2)]

    await eventually(delivered, what="delivered over the second connection")


async def test_a_click_is_an_interactive_envelope_answered_once_acknowledged(
    connect: Any, slack: str
) -> None:
    await connect(ack)
    ts = await post(slack, "card")
    click = {
        "user": "U0ALICE",
        "channel": "C0STAFF",
        "message_ts": ts,
        "action_id": "desk_claim",
        "value": "",
    }
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{slack}/_test/interact", json=click) as response,
    ):
        assert (await response.json())["status"] == 200


async def test_only_the_app_level_token_opens_a_connection(slack: str) -> None:
    api = f"{slack}/api/"
    for token, error in (
        ("xoxb-local-bot", "not_allowed_token_type"),
        ("xoxp-U0ALICE", "not_allowed_token_type"),
        ("xapp-1-not-this-app", "invalid_auth"),
    ):
        with pytest.raises(SlackApiError) as refused:
            await AsyncWebClient(base_url=api).apps_connections_open(app_token=token)
        assert refused.value.response["error"] == error
    opened = await AsyncWebClient(base_url=api).apps_connections_open(app_token=APP_TOKEN)
    url = opened["url"]
    assert url.startswith(f"ws://{slack.removeprefix('http://')}/link/?ticket=")
    assert url.endswith("&app_id=A0LOCAL")
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(url) as ws:
            assert (await ws.receive_json(timeout=5))["type"] == "hello"
        with pytest.raises(aiohttp.WSServerHandshakeError):  # a ticket works once
            await http.ws_connect(url)
    # The app token is no bot token: the Web API's other methods refuse it.
    with pytest.raises(SlackApiError):
        await AsyncWebClient(token=APP_TOKEN, base_url=api).auth_test()


def test_the_socket_mode_manifest_asks_for_what_the_main_one_does() -> None:
    """deploy/slack-app-manifest.socket-mode.yml: the same app, with Socket Mode on and no
    request URLs; its scopes and events never drift from the main manifest's."""
    main, socket = (
        yaml.safe_load((ROOT / "deploy" / name).read_text("utf-8"))
        for name in ("slack-app-manifest.yml", "slack-app-manifest.socket-mode.yml")
    )
    assert socket["oauth_config"] == main["oauth_config"]
    assert socket["features"] == main["features"]
    events, main_events = socket["settings"]["event_subscriptions"], main["settings"]
    assert events["bot_events"] == main_events["event_subscriptions"]["bot_events"]
    assert socket["settings"]["socket_mode_enabled"] is True
    assert socket["settings"]["interactivity"]["is_enabled"] is True
    assert "request_url" not in events and "request_url" not in socket["settings"]["interactivity"]
