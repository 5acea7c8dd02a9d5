"""`python -m standins.slack` / `python -m standins.telegram` start and serve the real clients."""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient
from telegram import Bot


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def running(module: str, *args: str) -> AsyncIterator[str]:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        module,
        "--port",
        str(port),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        assert proc.stdout is not None
        # The server prints its address once it listens.
        line = await asyncio.wait_for(proc.stdout.readline(), 20)
        assert base in line.decode(), line
        yield base
    finally:
        proc.terminate()
        await proc.wait()


async def test_both_stand_ins_run_as_processes(eventually: Any) -> None:
    async with (
        running("standins.slack", "--signing-secret", "s", "--channel-name", "desk") as slack,
        running("standins.telegram", "--rate-limit") as telegram,
    ):
        web_client = AsyncWebClient(token="xoxb-cli", base_url=f"{slack}/api/")
        info = await web_client.conversations_info(channel="C0STAFF")
        assert info["channel"]["name"] == "desk"
        async with Bot("42:cli", base_url=f"{telegram}/bot") as bot:
            assert bot.username == "northwind_support_bot"
        async with aiohttp.ClientSession() as http, http.get(f"{slack}/") as resp:
            assert "Acting as" in await resp.text()
