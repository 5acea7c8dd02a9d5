"""Helpers shared by the tests: waiting on conditions, and acting as customer or staff."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

T = TypeVar("T")

STAFF_CHANNEL = "C0STAFF"


async def eventually(
    probe: Callable[[], Awaitable[T]],
    until: Callable[[T], bool],
    timeout_s: float = 30.0,
    what: str = "condition",
) -> T:
    """Poll `probe` until `until(result)` holds; fail with the last result at the deadline."""
    deadline = time.monotonic() + timeout_s
    result = await probe()
    while not until(result):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last value: {result!r}")
        await asyncio.sleep(0.1)
        result = await probe()
    return result


async def inject_fault(standin_url: str, method: str, status: int, count: int = 1) -> None:
    """Make a local Slack or Telegram answer its next `count` calls of `method` with `status`."""
    body = {"method": method, "status": status, "count": count}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{standin_url}/_test/faults", json=body) as response,
    ):
        assert response.status == 200, await response.text()


class TelegramCustomer:
    """A Telegram user, simulated through the local Telegram's test endpoints."""

    def __init__(self, base_url: str, chat_id: int, first_name: str) -> None:
        self.base_url = base_url
        self.chat_id = chat_id
        self.first_name = first_name

    async def say(self, text: str) -> int:
        """Write `text` in the chat; the id Telegram gave the message."""
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"{self.base_url}/_test/customer/message",
                json={"chat_id": self.chat_id, "text": text, "first_name": self.first_name},
            ) as response,
        ):
            assert response.status == 200, await response.text()
            message_id: int = (await response.json())["message_id"]
            return message_id

    async def tap(self, message_id: int, data: str) -> None:
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"{self.base_url}/_test/customer/tap",
                json={"chat_id": self.chat_id, "message_id": message_id, "data": data},
            ) as response,
        ):
            assert response.status == 200, await response.text()

    async def received(self) -> list[dict[str, Any]]:
        async with (
            aiohttp.ClientSession() as http,
            http.get(
                f"{self.base_url}/_test/sent", params={"chat_id": str(self.chat_id)}
            ) as response,
        ):
            assert response.status == 200, await response.text()
            body = await response.json()
        return list(body["messages"] if isinstance(body, dict) else body)

    async def texts(self) -> list[str]:
        return [m.get("text", "") for m in await self.received()]

    async def wait_for(self, predicate: Callable[[str], bool], what: str) -> list[str]:
        return await eventually(self.texts, lambda ts: any(predicate(t) for t in ts), what=what)


class StaffDesk:
    """The staff channel, read with the bot token and written as a person (xoxp token)."""

    def __init__(self, slack_url: str, user: str = "U0ALICE") -> None:
        api = f"{slack_url}/api/"
        self.reader = AsyncWebClient(token="xoxb-local-bot", base_url=api)
        self.person = AsyncWebClient(token=f"xoxp-{user}", base_url=api)

    async def top_level(self) -> list[dict[str, Any]]:
        response = await self.reader.conversations_history(channel=STAFF_CHANNEL, limit=200)
        return list(response["messages"])

    async def thread(self, ts: str) -> list[dict[str, Any]]:
        response = await self.reader.conversations_replies(channel=STAFF_CHANNEL, ts=ts)
        return list(response["messages"])

    async def thread_text(self, ts: str) -> str:
        return "\n".join(m.get("text", "") for m in await self.thread(ts))

    async def wait_for_thread(self, needle: str) -> str:
        """The ts of the handoff thread whose opening post mentions `needle`."""
        messages = await eventually(
            self.top_level,
            lambda ms: any(needle in m.get("text", "") for m in ms),
            what=f"a handoff thread mentioning {needle!r}",
        )
        return next(str(m["ts"]) for m in messages if needle in m.get("text", ""))

    async def reply(self, thread_ts: str, text: str) -> None:
        await self.person.chat_postMessage(channel=STAFF_CHANNEL, thread_ts=thread_ts, text=text)


async def telegram_handoff(
    telegram_url: str,
    desk: StaffDesk,
    chat_id: int,
    name: str,
    text: str = "I want to talk to a person",
) -> tuple[TelegramCustomer, str]:
    """A Telegram customer who asked for a person; returns them and their thread's ts."""
    customer = TelegramCustomer(telegram_url, chat_id, first_name=name)
    await customer.say(text)
    await customer.wait_for(lambda t: "person from our team" in t, "the handoff notice")
    return customer, await desk.wait_for_thread(f"tg-{chat_id}")
