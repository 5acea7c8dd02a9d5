"""A widget session can never read or write another customer's conversation."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import aiohttp

from devstack.stack import Stack
from tests.desk.helpers import WidgetCustomer
from tests.learning.conftest import tool
from tests.support import eventually

SECRET = "my card ends in 4242 and I live at 12 Elm Street"


async def _hello(bridge_url: str, token: object, since: object = None) -> list[dict[str, Any]]:
    """The frames a fresh socket gets for `hello` with this token, up to the history."""
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(f"{bridge_url}/widget/ws") as ws,
    ):
        await ws.send_json({"type": "hello", "token": token, "since": since})
        frames = [await ws.receive_json(timeout=10)]
        while frames[-1]["type"] != "history":
            frames.append(await ws.receive_json(timeout=10))
        return frames


def _welcome(frames: list[dict[str, Any]]) -> dict[str, Any]:
    return next(f for f in frames if f["type"] == "welcome")


def _history_text(frames: list[dict[str, Any]]) -> str:
    history = next(f for f in frames if f["type"] == "history")
    return json.dumps(history["messages"])


async def test_forged_altered_or_foreign_tokens_never_open_another_conversation(
    stack: Stack,
) -> None:
    async with WidgetCustomer(stack.bridge_url) as victim:
        await victim.say(SECRET)
        await eventually(
            lambda: _hello(stack.bridge_url, victim.token),
            lambda fs: SECRET in _history_text(fs),
            what="the victim's message in its history",
        )
        async with WidgetCustomer(stack.bridge_url) as attacker:
            pass
        _, own_id, own_issued, own_signature = str(attacker.token).split(".")
        _, _, victim_issued, victim_signature = str(victim.token).split(".")
        victim_id = victim.conversation_id
        attempts: list[object] = [
            f"v2.{victim_id}.{own_issued}.{own_signature}",  # the attacker's signature
            f"v2.{victim_id}.{victim_issued}.{'A' * len(victim_signature)}",  # forged
            f"v2.{victim_id}.{victim_issued}.{victim_signature[:-1]}",  # truncated
            f"v2.{victim_id}.{int(victim_issued) + 1}.{victim_signature}",  # another issue time
            f"{victim_id}",  # no signature at all
            f"{victim_id}.{victim_signature}",  # the old format
            f"{victim.token}.{own_signature}",  # spliced
            f"v2.{own_id}.{victim_issued}.{victim_signature}",  # the victim's signature
            {"conversation_id": victim_id},
            f"v2.{victim_id}.{own_issued}.{own_signature}" + "x" * 300,
        ]
        for token in attempts:
            frames = await _hello(stack.bridge_url, token, since="0-0")
            assert any(f.get("code") == "bad_token" for f in frames), (token, frames)
            welcome = _welcome(frames)
            # A brand-new, empty conversation instead of the victim's.
            assert welcome["conversation_id"] not in (victim.conversation_id, own_id)
            assert SECRET not in _history_text(frames), token

        # The attacker's own, valid token opens only the attacker's conversation, whatever
        # else the frames claim.
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(f"{stack.bridge_url}/widget/ws") as ws,
        ):
            await ws.send_json(
                {
                    "type": "hello",
                    "token": attacker.token,
                    "since": None,
                    "conversation_id": victim.conversation_id,
                }
            )
            welcome = await ws.receive_json(timeout=10)
            assert welcome["conversation_id"] == own_id
            history = await ws.receive_json(timeout=10)
            assert SECRET not in json.dumps(history)
            await ws.send_json(
                {
                    "type": "message",
                    "text": "intruder was here",
                    "client_msg_id": uuid.uuid4().hex,
                    "conversation_id": victim.conversation_id,
                }
            )
            # The ack and the echo of the message may come in either order (the protocol).
            ack = await ws.receive_json(timeout=10)
            if ack["type"] == "message":
                ack = await ws.receive_json(timeout=10)
            assert ack["type"] == "ack"

        # Uploads need a real token, and a file is only usable in the conversation it came from.
        async with aiohttp.ClientSession() as http:
            forged = f"Bearer v2.{victim_id}.{own_issued}.{own_signature}"
            async with http.post(
                f"{stack.bridge_url}/widget/upload?name=x.txt",
                data=b"hello",
                headers={"Authorization": forged},
            ) as response:
                assert response.status == 401
            async with http.post(
                f"{stack.bridge_url}/widget/upload?name=x.txt",
                data=b"the victim's file",
                headers={"Authorization": f"Bearer {victim.token}"},
            ) as response:
                victim_file = (await response.json())["file_id"]
            async with http.ws_connect(f"{stack.bridge_url}/widget/ws") as ws:
                await ws.send_json({"type": "hello", "token": attacker.token, "since": None})
                await ws.receive_json(timeout=10)
                await ws.receive_json(timeout=10)
                await ws.send_json(
                    {
                        "type": "message",
                        "text": "look",
                        "client_msg_id": "steal-1",
                        "file": victim_file,
                    }
                )
                refused = await ws.receive_json(timeout=10)
                assert refused["type"] == "error" and refused["code"] == "bad_frame"

        # The victim's conversation holds only what the victim and the bridge wrote.
        frames = await _hello(stack.bridge_url, victim.token)
        assert _welcome(frames)["conversation_id"] == victim.conversation_id
        assert SECRET in _history_text(frames)
        assert "intruder was here" not in _history_text(frames)
        assert "look" not in [m.get("text") for m in json.loads(_history_text(frames))]


async def test_a_token_expires_unless_a_reconnect_renews_it(
    stack: Stack, replicas_factory: Any
) -> None:
    replicas = await replicas_factory(4, count=1, events_to=0, env={"WIDGET_SESSION_TTL_S": "5"})
    url = replicas.bridge_urls[0]
    async with WidgetCustomer(url) as customer:
        await customer.say(SECRET)
        await customer.wait_for(lambda m: m["role"] == "bot", "the bot's answer")
    first = str(customer.token)

    async def reconnect() -> str:
        return str(_welcome(await _hello(url, first))["token"])

    # Reconnecting renews: the new token carries a later issue time.
    renewed = await eventually(
        reconnect,
        lambda token: _issued(token) >= _issued(first) + 2,
        what="a renewed token",
    )
    # The first token stops working once its lifetime is over...
    refused = await eventually(
        lambda: _hello(url, first),
        lambda frames: any(f.get("code") == "bad_token" for f in frames),
        what="the first token expiring",
    )
    assert _welcome(refused)["conversation_id"] != customer.conversation_id
    assert SECRET not in _history_text(refused)
    # ...while the renewed one still opens the conversation.
    frames = await _hello(url, renewed)
    assert _welcome(frames)["conversation_id"] == customer.conversation_id
    assert SECRET in _history_text(frames)


async def test_forget_revokes_the_sessions_of_the_conversation(stack: Stack) -> None:
    async with WidgetCustomer(stack.bridge_url) as customer:
        await customer.say(SECRET)
        await customer.wait_for(lambda m: m["role"] == "bot", "the bot's answer")
        forgotten, old_token = customer.conversation_id, str(customer.token)
        done = await asyncio.to_thread(tool, stack, "tools.forget", forgotten)
        assert done.returncode == 0 and "revoked its widget sessions" in done.stdout, done
        # The socket still open speaks for nothing any more: its next message starts afresh.
        refused = await customer.answer_to(await customer.say("are you still there?"))
        assert refused["code"] == "session_ended"
        assert customer.conversation_id != forgotten
    old = await _hello(stack.bridge_url, old_token)
    assert any(f.get("code") == "bad_token" for f in old)
    assert _welcome(old)["conversation_id"] != forgotten
    assert SECRET not in _history_text(old)


def _issued(token: str) -> int:
    return int(token.split(".")[2])  # v2.<conversation>.<issued>.<signature>
