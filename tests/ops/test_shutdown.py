"""SIGTERM while a message is on its way to Telegram: it arrives once, the rest waits in Redis."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from redis.asyncio import Redis

from bridge import keys
from bridge.models import Channel, Message, Role
from bridge.outbox.jobs import SendToCustomer, encode
from devstack.processes import Service, free_port
from devstack.stack import Stack
from tests.ops.conftest import bridge_env
from tests.support import eventually

REDIS_DB = 5
CHAT = 77


@dataclass
class SlowTelegram:
    """A Bot API that holds every sendMessage until `release` is set."""

    release: asyncio.Event = field(default_factory=asyncio.Event)
    sent: list[str] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"].lower()
        params = dict(await request.post()) if request.can_read_body else {}
        if method == "getme":
            me = {"id": 1, "is_bot": True, "first_name": "Slow", "username": "slow_bot"}
            return web.json_response({"ok": True, "result": me})
        if method == "sendmessage":
            self.sent.append(str(params.get("text")))
            await self.release.wait()
            message = {
                "message_id": len(self.sent),
                "date": 0,
                "chat": {"id": CHAT, "type": "private"},
                "text": str(params.get("text")),
            }
            return web.json_response({"ok": True, "result": message})
        return web.json_response({"ok": True, "result": True})


@pytest.fixture
async def slow_telegram() -> AsyncIterator[tuple[SlowTelegram, str]]:
    api = SlowTelegram()
    app = web.Application()
    app.router.add_route("*", "/bot{token}/{method}", api.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield api, f"http://127.0.0.1:{runner.addresses[0][1]}"
    api.release.set()
    await runner.cleanup()


async def test_sigterm_finishes_the_send_in_flight_and_keeps_the_rest(
    stack: Stack,
    slow_telegram: tuple[SlowTelegram, str],
    extra_bridge: Callable[[dict[str, str]], Service],
) -> None:
    telegram, telegram_url = slow_telegram
    env = bridge_env(stack, REDIS_DB, free_port()) | {
        "TELEGRAM_BOT_TOKEN": "42:slow-telegram-token",
        "TELEGRAM_WEBHOOK_SECRET": "slow-secret",
        "TELEGRAM_API_URL": f"{telegram_url}/bot",
        "TELEGRAM_SET_WEBHOOK": "false",
    }
    redis = Redis.from_url(env["REDIS_URL"], decode_responses=True)
    await redis.flushdb()
    for text in ("first message", "second message"):
        job = SendToCustomer(f"tg-{CHAT}", Channel.TELEGRAM, Message(Role.BOT, text))
        await redis.xadd(keys.TELEGRAM_OUTBOX, encode(job))  # type: ignore[arg-type]

    bridge = extra_bridge(env)
    await asyncio.to_thread(bridge.start)
    await eventually(lambda: _sent(telegram), lambda s: s == ["first message"], what="a send")

    assert bridge.process is not None
    os.kill(bridge.process.pid, signal.SIGTERM)
    await eventually(
        lambda: _log(bridge), lambda text: "waiting up to" in text, what="the shutdown to begin"
    )
    # Telegram has not answered yet: the bridge waits instead of abandoning the send.
    assert bridge.process.poll() is None
    telegram.release.set()
    code = await eventually(
        lambda: _returncode(bridge), lambda c: c is not None, what="the bridge to exit"
    )
    assert code == 0, bridge.tail()
    assert telegram.sent == ["first message"]

    # The delivered message is acknowledged; the one never started is still in Redis...
    pending = await redis.xpending_range(
        keys.TELEGRAM_OUTBOX, keys.SENDER_GROUP, min="-", max="+", count=10
    )
    unacked = {p["message_id"] for p in pending}
    entries = await redis.xrange(keys.TELEGRAM_OUTBOX)
    assert [fields["text"] for entry_id, fields in entries if entry_id in unacked] == [
        "second message"
    ]
    # ...and the next start under the same name delivers it.
    await asyncio.to_thread(bridge.start)
    await eventually(
        lambda: _sent(telegram),
        lambda s: s == ["first message", "second message"],
        what="the kept message after the restart",
    )
    await redis.aclose()


async def _sent(telegram: SlowTelegram) -> list[str]:
    return list(telegram.sent)


async def _log(service: Service) -> str:
    return service.log_path.read_text(errors="replace")


async def _returncode(service: Service) -> int | None:
    assert service.process is not None
    return service.process.poll()
