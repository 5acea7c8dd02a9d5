"""Acting as staff on the local Slack (cards, buttons, reactions) and as a widget customer."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp

from devstack.stack import ONE_ADDRESS_FOR_MANY_CUSTOMERS, Stack
from tests.support import (
    STAFF_CHANNEL,
    StaffDesk,
    eventually,
)

JSON = dict[str, Any]


def card_text(message: JSON) -> str:
    """Everything a person reads on a Block Kit message."""
    out = []
    for block in message.get("blocks") or []:
        if isinstance(block.get("text"), dict):
            out.append(block["text"]["text"])
        out += [f["text"] for f in block.get("fields") or []]
        for element in block.get("elements") or []:
            if element.get("type") in ("mrkdwn", "plain_text"):
                out.append(element["text"])
            elif element.get("type") == "button":
                out.append(f"[{element['text']['text']}]")
    return "\n".join(out)


def buttons(message: JSON) -> list[str]:
    return [
        e["action_id"]
        for b in message.get("blocks") or []
        if b.get("type") == "actions"
        for e in b.get("elements") or []
    ]


class Desk(StaffDesk):
    def __init__(self, slack_url: str, user: str = "U0ALICE") -> None:
        super().__init__(slack_url, user)
        self.slack_url = slack_url
        self.user = user

    async def card(self, ts: str) -> JSON:
        return next(m for m in await self.top_level() if m["ts"] == ts)

    async def wait_for_card(self, ts: str, needle: str) -> JSON:
        return await eventually(
            lambda: self.card(ts), lambda m: needle in card_text(m), what=f"card with {needle!r}"
        )

    async def click(self, card_ts: str, action_id: str, user: str | None = None) -> JSON:
        """Press a card button as `user`; returns once the bridge has answered the click."""
        body = {
            "user": user or self.user,
            "channel": STAFF_CHANNEL,
            "message_ts": card_ts,
            "action_id": action_id,
            "block_id": "desk",
            "value": "",
        }
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{self.slack_url}/_test/interact", json=body) as response,
        ):
            result: JSON = await response.json()
        assert result.get("status") == 200, result
        return result

    async def say(self, thread_ts: str, text: str) -> str:
        response = await self.person.chat_postMessage(
            channel=STAFF_CHANNEL, thread_ts=thread_ts, text=text
        )
        return str(response["ts"])

    async def reactions(self, thread_ts: str, ts: str) -> list[str]:
        message = next(m for m in await self.thread(thread_ts) if m["ts"] == ts)
        return [r["name"] for r in message.get("reactions", [])]

    async def bot_posts(self, thread_ts: str) -> list[str]:
        return [m.get("text", "") for m in (await self.thread(thread_ts))[1:] if m.get("bot_id")]


@contextmanager
def stack_like(stack: Stack, run_dir: Path, bridge_env: dict[str, str]) -> Iterator[Stack]:
    """A stack of the test's own (Redis, stand-ins, bridge with `bridge_env`), reached as
    `stack` is (Events API or Socket Mode, webhook or polling); it shares the stack's Rasa."""
    run = Stack(
        run_dir,
        bridge_env=ONE_ADDRESS_FOR_MANY_CUSTOMERS | bridge_env,
        slack_mode=stack.slack_mode,
        telegram_mode=stack.telegram_mode,
        rasa_of=stack,
    )
    try:
        run.start()
        yield run
    finally:
        run.stop()


async def deliver_as_slack(slack_url: str, envelope: JSON) -> int:
    """`envelope` (an `event_callback`, e.g. a redelivery under its event id) delivered once by
    the local Slack over the stack's transport: a signed POST to the request URL, or a Socket
    Mode envelope. The bridge's answer: its HTTP status, or 200 once it acknowledged."""
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{slack_url}/_test/deliver", json=envelope) as response,
    ):
        assert response.status == 200, await response.text()
        return int((await response.json())["status"])


class WidgetCustomer:
    """A web visitor speaking docs/widget-protocol.md over a WebSocket."""

    def __init__(
        self,
        bridge_url: str,
        token: str | None = None,
        identity: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.url = f"{bridge_url}/widget/ws"
        self.headers = headers or {}  # e.g. the address a proxy forwards, the page's Origin
        self.token = token
        self.identity = identity  # the shop's signed identity of a signed-in customer
        self.conversation_id = ""
        self.welcome: JSON = {}
        self.frames: list[JSON] = []
        self._http: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> WidgetCustomer:
        self._http = aiohttp.ClientSession()
        self._ws = await self._http.ws_connect(self.url, headers=self.headers)
        hello = {"type": "hello", "token": self.token, "since": None, "identity": self.identity}
        await self._ws.send_json(hello)
        # A live message can overtake the welcome (the socket listens before it is greeted).
        welcome = await self._ws.receive_json(timeout=10)
        while welcome["type"] != "welcome":
            self.frames.append(welcome)
            welcome = await self._ws.receive_json(timeout=10)
        self._welcomed(welcome)
        self._reader = asyncio.create_task(self._read())
        return self

    def _welcomed(self, welcome: JSON) -> None:
        self.welcome = welcome
        self.token, self.conversation_id = welcome["token"], welcome["conversation_id"]

    async def identify(self, identity: str | None) -> None:
        """The page signed someone in (or out, with None) without a reload."""
        assert self._ws is not None
        await self._ws.send_json({"type": "identify", "identity": identity})

    def errors(self) -> list[JSON]:
        return [f for f in self.frames if f["type"] == "error"]

    async def __aexit__(self, *_: object) -> None:
        assert self._reader is not None and self._ws is not None and self._http is not None
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
        await self._ws.close()
        await self._http.close()

    async def _read(self) -> None:
        assert self._ws is not None
        async for frame in self._ws:
            if frame.type == aiohttp.WSMsgType.TEXT:
                data = json.loads(frame.data)
                if data["type"] == "welcome":
                    self._welcomed(data)
                    self.frames = []  # another conversation: its history follows
                self.frames.append(data)

    async def say(self, text: str, payload: str | None = None) -> str:
        """Send a message; returns its client_msg_id."""
        assert self._ws is not None
        frame: JSON = {"type": "message", "text": text, "client_msg_id": uuid.uuid4().hex}
        if payload is not None:
            frame["payload"] = payload
        await self._ws.send_json(frame)
        return str(frame["client_msg_id"])

    async def answer_to(self, client_msg_id: str) -> JSON:
        """The ack or error frame the bridge sent for message `client_msg_id`."""

        async def probe() -> list[JSON]:
            return [
                f
                for f in self.frames
                if f["type"] in ("ack", "error") and f.get("client_msg_id") == client_msg_id
            ]

        found = await eventually(probe, bool, what=f"an answer to {client_msg_id}")
        return found[0]

    def messages(self) -> list[JSON]:
        """Every Message drawn so far (history and live), de-duplicated by id, in order."""
        seen: dict[str, JSON] = {}
        for frame in self.frames:
            for m in frame.get("messages", []) if frame["type"] == "history" else [frame]:
                if frame["type"] in ("history", "message"):
                    seen.setdefault(m["id"], m)
        return list(seen.values())

    async def wait_for(self, predicate: Callable[[JSON], bool], what: str) -> JSON:
        async def probe() -> list[JSON]:
            return self.messages()

        found = await eventually(probe, lambda ms: any(predicate(m) for m in ms), what=what)
        return next(m for m in found if predicate(m))
