"""The Slack stand-in's hang faults and message metadata, driven by the real slack_sdk client."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from standins.slack import SlackConfig, create_app

CHANNEL = "C0STAFF"


@pytest.fixture
async def base(serve: Any) -> str:
    return str(await serve(create_app(SlackConfig(signing_secret="s"))))


def client(base: str, timeout: int = 1) -> AsyncWebClient:
    # No retry handlers: a timeout must reach the caller, as in the bridge's sender.
    return AsyncWebClient(
        token="xoxb-local", base_url=f"{base}/api/", timeout=timeout, retry_handlers=[]
    )


async def hang(base: str, **body: Any) -> int:
    async with aiohttp.ClientSession() as http, http.post(f"{base}/_test/faults", json=body) as r:
        return r.status


async def texts(base: str) -> list[str]:
    history = await client(base).conversations_history(channel=CHANNEL)
    return [m["text"] for m in history["messages"]]


async def test_hang_before_times_the_client_out_and_records_nothing(base: str) -> None:
    assert await hang(base, method="chat.postMessage", hang="before", seconds=5) == 200
    with pytest.raises(asyncio.TimeoutError):
        await client(base).chat_postMessage(channel=CHANNEL, text="held")
    assert await texts(base) == []
    # One call only (count 1): the next goes through.
    await client(base).chat_postMessage(channel=CHANNEL, text="next")
    assert await texts(base) == ["next"]


async def test_hang_after_records_the_post_then_times_the_client_out(base: str) -> None:
    assert await hang(base, method="chat.postMessage", hang="after", text="two") == 200
    await client(base).chat_postMessage(channel=CHANNEL, text="one")  # not matched: answered
    with pytest.raises(asyncio.TimeoutError):
        await client(base).chat_postMessage(channel=CHANNEL, text="two")
    assert await texts(base) == ["two", "one"]  # newest first, as Slack lists history


async def test_a_malformed_hang_is_refused(base: str) -> None:
    assert await hang(base, method="chat.postMessage", hang="sideways") == 400


async def test_metadata_comes_back_only_with_include_all_metadata(base: str) -> None:
    metadata = {"event_type": "delivery", "event_payload": {"entries": "s/1-0,s/1-1", "part": 1}}
    web = client(base)
    parent = await web.chat_postMessage(channel=CHANNEL, text="card", metadata=metadata)
    reply = await web.chat_postMessage(
        channel=CHANNEL, text="line", thread_ts=parent["ts"], metadata=metadata
    )
    plain = await web.conversations_replies(channel=CHANNEL, ts=parent["ts"])
    assert all("metadata" not in m for m in plain["messages"])
    full = await web.conversations_replies(
        channel=CHANNEL, ts=parent["ts"], include_all_metadata=True
    )
    assert [m.get("metadata") for m in full["messages"]] == [metadata, metadata]
    history = await web.conversations_history(channel=CHANNEL, include_all_metadata=True)
    assert history["messages"][0]["metadata"] == metadata
    # oldest/inclusive narrow a thread's replies as they do history.
    after = await web.conversations_replies(
        channel=CHANNEL, ts=parent["ts"], oldest=reply["ts"], inclusive=True
    )
    assert [m["ts"] for m in after["messages"]] == [reply["ts"]]
    after = await web.conversations_replies(channel=CHANNEL, ts=parent["ts"], oldest=reply["ts"])
    assert after["messages"] == []


async def test_malformed_metadata_is_refused(base: str) -> None:
    with pytest.raises(SlackApiError) as refused:
        await client(base).chat_postMessage(
            channel=CHANNEL, text="x", metadata={"event_payload": {"a": "b"}}
        )
    assert refused.value.response["error"] == "invalid_metadata_format"
