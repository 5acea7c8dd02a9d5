"""A widget session can never read or write another customer's conversation."""

from __future__ import annotations

import json
import uuid
from typing import Any

import aiohttp

from devstack.stack import Stack
from tests.desk.helpers import WidgetCustomer
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
        own_id, own_signature = str(attacker.token).split(".")
        victim_signature = str(victim.token).split(".")[1]
        attempts: list[object] = [
            f"{victim.conversation_id}.{own_signature}",  # the attacker's signature, victim's id
            f"{victim.conversation_id}.{'A' * len(victim_signature)}",  # a forged signature
            f"{victim.conversation_id}.{victim_signature[:-1]}",  # truncated
            f"{victim.conversation_id}",  # no signature at all
            f"{victim.conversation_id}.{victim_signature}.{own_signature}",  # spliced
            f"{own_id}.{victim_signature}",  # the victim's signature on the attacker's id
            {"conversation_id": victim.conversation_id},
            victim.conversation_id + "." + own_signature + "x" * 300,
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
            forged = f"Bearer {victim.conversation_id}.{own_signature}"
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
