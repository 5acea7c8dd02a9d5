"""Files on the Slack stand-in: slack_sdk's files_upload_v2, the file_share event, downloads."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

from standins.slack import SlackConfig, create_app

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def test_upload_in_a_thread_is_shared_and_downloadable(serve: Any, receiver: Any) -> None:
    rec, url = receiver
    base = await serve(create_app(SlackConfig(signing_secret="s", events_url=url)))
    bot = AsyncWebClient(token="xoxb-local", base_url=f"{base}/api/")
    alice = AsyncWebClient(token="xoxp-U0ALICE", base_url=f"{base}/api/")
    parent = await bot.chat_postMessage(channel="C0STAFF", text="a thread")

    result = await alice.files_upload_v2(
        channel="C0STAFF",
        thread_ts=parent["ts"],
        file=PNG,
        filename="label.png",
        initial_comment="the return label",
    )
    assert result["file"]["name"] == "label.png" and result["file"]["mimetype"] == "image/png"

    event = json.loads((await rec.wait_for(2))[1].body)["event"]
    assert (event["subtype"], event["user"], event["thread_ts"]) == (
        "file_share",
        "U0ALICE",
        parent["ts"],
    )
    assert event["text"] == "the return label"
    shared = event["files"][0]
    async with aiohttp.ClientSession() as http:
        headers = {"Authorization": "Bearer xoxb-local"}
        async with http.get(shared["url_private"], headers=headers) as response:
            assert await response.read() == PNG
        async with http.get(shared["url_private"]) as response:  # no token: a login page
            assert await response.read() != PNG
