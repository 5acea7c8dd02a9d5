"""Malformed, oversized and unicode-heavy input at every public endpoint of the running bridge:
never a 500, the process stays up, and a normal conversation still works afterwards."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import time
import urllib.parse
from typing import Any

import aiohttp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devstack.stack import LOCAL_SLACK, LOCAL_TELEGRAM, Stack
from tests.desk.helpers import WidgetCustomer

FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "40")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Unicode-heavy text: every plane, combining marks, RTL, zero-width and control characters.
text = st.text(st.characters(codec="utf-8"), max_size=300) | st.sampled_from(
    ["", " ", "\u202e\u200b\u0000", "👩‍👩‍👧‍👦" * 200, "<!channel> &amp; <@U1|x>", "a" * 20_000]
)
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12,
)
# Raw bodies that are not JSON at all, or JSON with lone surrogates and deep nesting.
raw_bodies = st.binary(max_size=2000) | st.sampled_from(
    [b'{"a": "\\ud800"}', b"[" * 5000 + b"]" * 5000, b'{"update_id": 1e999}', b"\xff\xfe"]
)


def _update(update_id: int, chat: Any, message: Any) -> dict[str, Any]:
    return {"update_id": update_id, "message": {"chat": chat, **message}}


telegram_updates = st.one_of(
    json_values,
    st.builds(
        _update,
        st.integers(),
        st.fixed_dictionaries({"id": st.integers(), "type": st.sampled_from(["private", "x"])}),
        st.fixed_dictionaries(
            {"message_id": st.integers(), "date": st.integers(), "text": text},
            optional={"from": json_values, "photo": json_values, "document": json_values},
        ),
    ),
    st.builds(
        lambda data, chat: {
            "update_id": 7,
            "callback_query": {
                "id": "q",
                "from": {"id": 1, "is_bot": False, "first_name": "x"},
                "chat_instance": "c",
                "data": data,
                "message": {"message_id": 1, "date": 0, "chat": chat},
            },
        },
        text,
        json_values,
    ),
)
slack_events = st.one_of(
    json_values,
    st.builds(
        lambda event_id, event: {"type": "event_callback", "event_id": event_id, "event": event},
        text,
        st.fixed_dictionaries(
            {"type": st.sampled_from(["message", "reaction_added", "app_mention", "x"])},
            optional={
                "channel": st.sampled_from(["C0STAFF", "C1"]) | text,
                "thread_ts": text,
                "ts": text,
                "text": text,
                "user": text,
                "subtype": text,
                "files": json_values,
                "item": json_values,
                "reaction": text,
            },
        ),
    ),
)
slack_actions = st.one_of(
    json_values,
    st.builds(
        lambda actions, message: {
            "type": "block_actions",
            "user": {"id": "U0ALICE"},
            "channel": {"id": "C0STAFF"},
            "actions": actions,
            "message": message,
        },
        json_values,
        json_values,
    ),
)
widget_frames = st.one_of(
    json_values.map(json.dumps),
    text,
    st.fixed_dictionaries(
        {"type": st.sampled_from(["message", "hello"])},
        optional={
            "text": json_values,
            "client_msg_id": json_values,
            "payload": json_values,
            "file": json_values,
            "token": json_values,
            "since": json_values,
        },
    ).map(json.dumps),
)


def _slack_headers(body: bytes) -> dict[str, str]:
    timestamp = str(int(time.time()))
    base = b"v0:" + timestamp.encode() + b":" + body
    key = LOCAL_SLACK["SLACK_SIGNING_SECRET"].encode()
    signature = "v0=" + hmac.new(key, base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature}


def _header_safe(value: str) -> str:
    # HTTP header values cannot carry control characters; the client refuses to send them.
    return "".join(c for c in value[:300] if c >= " " and c != "\x7f")


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    async def go() -> int:
        async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=headers) as r:
            await r.read()
            return r.status

    return asyncio.run(go())


def _encode(value: Any) -> bytes:
    return json.dumps(value).encode() if not isinstance(value, bytes) else value


def test_fuzz_telegram_webhook(stack: Stack) -> None:
    url = f"{stack.bridge_url}/telegram/webhook"
    headers = {
        "Content-Type": "application/json",
        "X-Telegram-Bot-Api-Secret-Token": LOCAL_TELEGRAM["TELEGRAM_WEBHOOK_SECRET"],
    }

    @FUZZ
    @given(telegram_updates | raw_bodies)
    def check(update: Any) -> None:
        assert _post(url, _encode(update), headers) < 500

    check()


def test_fuzz_slack_events_and_interactivity(stack: Stack) -> None:
    @FUZZ
    @given(slack_events | raw_bodies, slack_actions | text)
    def check(event: Any, action: Any) -> None:
        body = _encode(event)
        headers = {"Content-Type": "application/json", **_slack_headers(body)}
        assert _post(f"{stack.bridge_url}/slack/events", body, headers) < 500
        form = urllib.parse.urlencode(
            {"payload": action if isinstance(action, str) else json.dumps(action)}
        ).encode()
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            **_slack_headers(form),
        }
        assert _post(f"{stack.bridge_url}/slack/interactivity", form, headers) < 500

    check()


def test_fuzz_widget_socket_and_upload(stack: Stack) -> None:
    @FUZZ
    @given(st.lists(widget_frames, min_size=1, max_size=5), raw_bodies, json_values)
    def check(frames: list[str], upload: bytes, token: Any) -> None:
        async def go() -> None:
            async with (
                aiohttp.ClientSession() as http,
                http.ws_connect(f"{stack.bridge_url}/widget/ws") as ws,
            ):
                for frame in frames:
                    await ws.send_str(frame)
                # Still serving: a proper hello is answered after whatever came before.
                await ws.send_json({"type": "hello", "token": None, "since": None})
                while (await ws.receive_json(timeout=15))["type"] != "welcome":
                    pass
                async with http.post(
                    f"{stack.bridge_url}/widget/upload",
                    params={"name": str(token)[:50]},
                    data=upload,
                    headers={"Authorization": f"Bearer {_header_safe(str(token))}"},
                ) as response:
                    assert response.status < 500

        asyncio.run(go())

    check()


async def test_after_the_fuzz_a_normal_conversation_works(stack: Stack) -> None:
    bridge = stack.services["bridge"]
    assert bridge.process is not None and bridge.process.poll() is None
    async with WidgetCustomer(stack.bridge_url) as customer:
        await customer.say("which payment methods can I use?")
        reply = await customer.wait_for(lambda m: m.get("role") == "bot", "the assistant's answer")
        assert "paypal" in reply["text"].lower()
