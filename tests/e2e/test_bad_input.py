"""Bad input at every public entry point gets a clear answer and loses nothing."""

from __future__ import annotations

import json
import time

import aiohttp
import pytest

from devstack.processes import free_port
from devstack.stack import Stack
from tests.support import StaffDesk, eventually


async def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=headers) as r:
        return r.status, await r.text()


async def test_unsigned_or_stale_slack_requests_are_refused(stack: Stack) -> None:
    from slack_sdk.signature import SignatureVerifier

    body = json.dumps({"type": "event_callback", "event_id": "EvX", "event": {"type": "message"}})
    url = f"{stack.bridge_url}/slack/events"
    status, _ = await _post(url, body.encode(), {"Content-Type": "application/json"})
    assert status == 401

    signer = SignatureVerifier("local-signing-secret")
    stale = str(int(time.time()) - 600)
    signature = signer.generate_signature(timestamp=stale, body=body)
    status, _ = await _post(
        url,
        body.encode(),
        {
            "Content-Type": "application/json",
            "X-Slack-Request-Timestamp": stale,
            "X-Slack-Signature": signature,
        },
    )
    assert status == 401

    forged = signer.generate_signature(timestamp=str(int(time.time())), body=body + " ")
    status, _ = await _post(
        url,
        body.encode(),
        {
            "Content-Type": "application/json",
            "X-Slack-Request-Timestamp": str(int(time.time())),
            "X-Slack-Signature": forged,
        },
    )
    assert status == 401


@pytest.mark.parametrize("secret", [None, "wrong-secret"])
async def test_telegram_update_without_the_secret_is_refused(
    stack: Stack, secret: str | None
) -> None:
    headers = {"Content-Type": "application/json"}
    if secret:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    update = {
        "update_id": 1,
        "message": {"message_id": 1, "date": 0, "chat": {"id": 5, "type": "private"}, "text": "hi"},
    }
    status, _ = await _post(
        f"{stack.bridge_url}/telegram/webhook", json.dumps(update).encode(), headers
    )
    assert status == 403


async def test_malformed_telegram_update_is_a_client_error(stack: Stack) -> None:
    headers = {
        "Content-Type": "application/json",
        "X-Telegram-Bot-Api-Secret-Token": "local-webhook-secret",
    }
    status, text = await _post(f"{stack.bridge_url}/telegram/webhook", b"{not json", headers)
    assert status == 400 and "not a Telegram update" in text


async def test_widget_bad_frames_get_error_frames_and_keep_the_connection(stack: Stack) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(f"{stack.bridge_url}/widget/ws") as ws,
    ):
        await ws.send_str("this is not json")
        assert (await ws.receive_json(timeout=5))["code"] == "bad_json"

        await ws.send_json({"type": "message", "text": "hi", "client_msg_id": "m1"})
        assert (await ws.receive_json(timeout=5))["code"] == "bad_frame"  # no hello yet

        await ws.send_json({"type": "hello", "token": None, "since": None})
        welcome = await ws.receive_json(timeout=5)
        assert welcome["type"] == "welcome"
        assert (await ws.receive_json(timeout=5))["type"] == "history"

        await ws.send_json({"type": "message", "text": "x" * 2001, "client_msg_id": "m2"})
        error = await ws.receive_json(timeout=5)
        assert error["code"] == "too_large" and error["client_msg_id"] == "m2"

        await ws.send_str(
            json.dumps({"type": "message", "text": "y", "client_msg_id": "m3", "pad": "z" * 20_000})
        )
        assert (await ws.receive_json(timeout=5))["code"] == "too_large"

        await ws.send_json({"type": "hello", "token": "w-forged.signature", "since": None})
        assert (await ws.receive_json(timeout=5))["code"] == "bad_token"
        fresh = await ws.receive_json(timeout=5)
        assert fresh["type"] == "welcome" and fresh["conversation_id"] != "w-forged"
        assert (await ws.receive_json(timeout=5))["type"] == "history"

        # Still connected and working after all of that.
        await ws.send_json({"type": "message", "text": "hi there", "client_msg_id": "m4"})
        frames = [await ws.receive_json(timeout=10) for _ in range(2)]
        assert {"ack", "message"} == {f["type"] for f in frames}
        assert not ws.closed


async def test_rasa_unreachable_hands_the_customer_to_a_person(stack: Stack) -> None:
    """A second bridge whose Rasa is down: the customer is told, the thread is opened."""
    from devstack.processes import BRIDGE_PYTHON, Service, http_ok

    port = free_port()
    env = dict(stack.services["bridge"].env)
    env |= {
        "BRIDGE_PORT": str(port),
        "BRIDGE_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "RASA_URL": f"http://127.0.0.1:{free_port()}",
        "BRIDGE_INSTANCE": "bridge-no-rasa",
        "TELEGRAM_SET_WEBHOOK": "false",
    }
    bridge = Service(
        "bridge-no-rasa",
        [str(BRIDGE_PYTHON), "-m", "bridge"],
        stack.run_dir,
        env=env,
        ready=lambda: http_ok(f"http://127.0.0.1:{port}/healthz"),
    )
    bridge.start()
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(f"http://127.0.0.1:{port}/widget/ws") as ws,
        ):
            await ws.send_json({"type": "hello", "token": None, "since": None})
            conversation_id = (await ws.receive_json(timeout=5))["conversation_id"]
            await ws.receive_json(timeout=5)
            await ws.send_json(
                {"type": "message", "text": "where is my order?", "client_msg_id": "a"}
            )
            frames = []
            while not any(f.get("role") == "system" for f in frames):
                frames.append(await ws.receive_json(timeout=30))
            notice = next(f for f in frames if f.get("role") == "system")
            assert "unavailable" in notice["text"] and "person from our team" in notice["text"]
        desk = StaffDesk(stack.slack_url)
        thread_ts = await desk.wait_for_thread(conversation_id)
        thread = await eventually(
            lambda: desk.thread_text(thread_ts), lambda t: "where is my order?" in t
        )
        assert "the bot was unavailable" in thread
    finally:
        bridge.stop()
