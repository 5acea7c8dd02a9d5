"""The bridge's Telegram poller (bridge/platforms/telegram/polling.py) against the local Telegram,
with a Redis of its own: an update is confirmed only once handled, a failed one is retried, one
replica polls at a time, and a stop hands over cleanly."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from redis.asyncio import Redis
from telegram import Bot, Update
from telegram.error import Conflict

from bridge import keys
from bridge.observability.probes import ProbeFailed
from bridge.platforms.telegram import probes
from bridge.platforms.telegram.polling import Backoff, PollerLease, TelegramPoller
from bridge.platforms.telegram.webhook import Outcome
from devstack.stack import scratch_redis
from standins.telegram import TelegramConfig, create_app
from tests.support import eventually

TOKEN = "123456:poller-test"
CHAT, OTHER_CHAT = 5100, 5200


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis server of this module's own, on a free port, keeping nothing on disk."""
    with scratch_redis("redis-polling", tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url, decode_responses=True)
    await client.flushdb()
    yield client
    await client.aclose()


@pytest.fixture
async def telegram() -> AsyncIterator[str]:
    runner = web.AppRunner(create_app(TelegramConfig(retry_initial=0.01, retry_max=0.05)))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


class Handler:
    """Stands in for TelegramWebhook.handle_update: records what it handled, can fail the
    first attempts at an update and hold a chat's updates until released."""

    def __init__(self) -> None:
        self.attempts: list[int] = []
        self.handled: list[tuple[int, str]] = []
        self.fail: dict[str, int] = {}  # text -> attempts to fail
        self.hold: dict[int, asyncio.Event] = {}  # chat -> released when set

    async def handle_update(self, update: Update) -> Outcome:
        assert update.message is not None and update.message.text is not None
        text, chat = update.message.text, update.message.chat.id
        self.attempts.append(update.update_id)
        if chat in self.hold:
            await self.hold[chat].wait()
        if self.fail.get(text, 0) > 0:
            self.fail[text] -= 1
            raise ConnectionError("Redis went away")
        self.handled.append((update.update_id, text))
        return Outcome.HANDLED

    def texts(self) -> list[str]:
        return [text for _, text in self.handled]


Pollers = Callable[..., TelegramPoller]


@pytest.fixture
async def pollers(telegram: str, redis: Redis) -> AsyncIterator[Pollers]:
    started: list[tuple[TelegramPoller, Bot]] = []

    def make(handler: Handler, instance: str = "bridge-a", ttl_ms: int = 15_000) -> TelegramPoller:
        bot = Bot(TOKEN, base_url=f"{telegram}/bot")
        poller = TelegramPoller(
            bot,
            handler,
            PollerLease(redis, instance, ttl_ms=ttl_ms),
            poll_timeout_s=5,
            lease_tick_s=0.05,
            backoff=lambda: Backoff(0.01, 0.05),
        )
        started.append((poller, bot))
        return poller

    yield make
    for poller, bot in started:
        await poller.stop(1.0)
        await bot.shutdown()


async def say(base: str, text: str, chat: int = CHAT) -> int:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{base}/_test/customer/message", json={"chat_id": chat, "text": text}) as r,
    ):
        assert r.status == 200, await r.text()
        update_id: int = (await r.json())["update_id"]
        return update_id


async def statuses(base: str) -> dict[int, str]:
    async with aiohttp.ClientSession() as http, http.get(f"{base}/_test/updates") as r:
        return {u["update_id"]: u["status"] for u in await r.json()}


async def start(poller: TelegramPoller) -> None:
    poller.start()
    await asyncio.wait_for(poller.polling.wait(), 10)


async def test_an_update_is_confirmed_only_once_handled(telegram: str, pollers: Pollers) -> None:
    handler = Handler()
    handler.hold[CHAT] = asyncio.Event()
    poller = pollers(handler)
    await start(poller)
    held = await say(telegram, "where is my order?")
    await eventually(lambda: _async(handler.attempts), lambda a: held in a, what="the update taken")
    # Another customer is handled meanwhile, and confirmed... but not past the one in hand.
    other = await say(telegram, "hello", chat=OTHER_CHAT)
    await eventually(lambda: _async(handler.texts()), lambda t: "hello" in t, what="the other")
    assert (await statuses(telegram))[held] == "pending"
    assert (await statuses(telegram))[other] == "pending"
    handler.hold[CHAT].set()
    await eventually(
        lambda: statuses(telegram),
        lambda s: s[held] == s[other] == "delivered",
        what="both confirmed once handled",
    )
    assert sorted(handler.texts()) == ["hello", "where is my order?"]


async def test_a_failed_update_is_retried_and_the_customers_order_kept(
    telegram: str, pollers: Pollers
) -> None:
    handler = Handler()
    handler.fail["first"] = 3
    await start(pollers(handler))
    first = await say(telegram, "first")
    second = await say(telegram, "second")
    other = await say(telegram, "someone else", chat=OTHER_CHAT)
    await eventually(
        lambda: statuses(telegram),
        lambda s: all(s[u] == "delivered" for u in (first, second, other)),
        what="every update handled and confirmed",
    )
    assert handler.attempts.count(first) == 4  # three failures, then handled
    mine = [t for t in handler.texts() if t != "someone else"]
    assert mine == ["first", "second"]  # the customer's second waited for the first
    assert len(handler.handled) == 3  # each once


async def test_polling_deletes_a_webhook_and_rides_out_telegram_errors(
    telegram: str, pollers: Pollers
) -> None:
    async with Bot(TOKEN, base_url=f"{telegram}/bot") as admin:
        await admin.set_webhook("http://127.0.0.1:9/telegram")
    await _fault(telegram, "getUpdates", 502, count=3)
    handler = Handler()
    await start(pollers(handler))
    update_id = await say(telegram, "after the errors")
    await eventually(
        lambda: statuses(telegram), lambda s: s[update_id] == "delivered", what="confirmed"
    )
    async with Bot(TOKEN, base_url=f"{telegram}/bot") as admin:
        assert (await admin.get_webhook_info()).url == ""
    assert handler.texts() == ["after the errors"]


async def test_one_replica_polls_and_a_stopped_one_hands_over(
    telegram: str, pollers: Pollers, redis: Redis
) -> None:
    first_handler, second_handler = Handler(), Handler()
    first = pollers(first_handler, instance="bridge-a")
    await start(first)
    second = pollers(second_handler, instance="bridge-b")
    second.start()
    before = await say(telegram, "to whoever polls")
    await eventually(lambda: statuses(telegram), lambda s: s[before] == "delivered", what="one")
    assert await redis.get(keys.TELEGRAM_POLLER) == "bridge-a"
    assert not second.polling.is_set()
    # A stop frees the lease at once: the other replica polls from its next tick.
    await first.stop(1.0)
    await asyncio.wait_for(second.polling.wait(), 10)
    after = await say(telegram, "to the new poller")
    await eventually(lambda: statuses(telegram), lambda s: s[after] == "delivered", what="two")
    assert first_handler.texts() == ["to whoever polls"]
    assert second_handler.texts() == ["to the new poller"]


async def test_a_replica_that_stops_renewing_is_replaced_after_its_lease(
    telegram: str, pollers: Pollers, redis: Redis
) -> None:
    # As if a replica died holding the lease: nobody renews it until it expires.
    await redis.set(keys.TELEGRAM_POLLER, "bridge-dead", px=1500)
    handler = Handler()
    poller = pollers(handler, instance="bridge-b")
    poller.start()
    update_id = await say(telegram, "sent while the dead one held the lease")
    await asyncio.wait_for(poller.polling.wait(), 10)
    await eventually(
        lambda: statuses(telegram), lambda s: s[update_id] == "delivered", what="taken over"
    )
    assert handler.texts() == ["sent while the dead one held the lease"]


async def test_another_poller_of_the_same_bot_is_reported_and_outlasted(
    telegram: str, pollers: Pollers, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, "bridge.platforms.telegram.polling")
    handler = Handler()
    await start(pollers(handler))
    # Someone else (another deployment with the same token) polls too: each call ends the other.
    async with Bot(TOKEN, base_url=f"{telegram}/bot") as intruder:
        for _ in range(2):
            with pytest.raises(Conflict):  # the bridge's next poll ends it in turn
                await intruder.get_updates(timeout=5)

    def reported() -> Any:
        return _async([r.getMessage() for r in caplog.records])

    await eventually(
        reported,
        lambda lines: any("another process polls with the same bot token" in m for m in lines),
        what="the conflict reported with its cause",
    )
    update_id = await say(telegram, "still answered")
    await eventually(
        lambda: statuses(telegram), lambda s: s[update_id] == "delivered", what="recovered"
    )
    assert handler.texts() == ["still answered"]


async def test_a_stop_lets_the_update_in_hand_finish_and_confirms_it(
    telegram: str, pollers: Pollers, redis: Redis
) -> None:
    handler = Handler()
    handler.hold[CHAT] = asyncio.Event()
    poller = pollers(handler)
    await start(poller)
    update_id = await say(telegram, "almost done")
    await eventually(lambda: _async(handler.attempts), lambda a: update_id in a, what="taken")
    stopping = asyncio.create_task(poller.stop(5.0))
    handler.hold[CHAT].set()
    await asyncio.wait_for(stopping, 10)
    assert handler.texts() == ["almost done"]
    assert (await statuses(telegram))[update_id] == "delivered"
    assert await redis.get(keys.TELEGRAM_POLLER) is None


async def test_the_deployment_check_wants_no_webhook_when_polling(telegram: str) -> None:
    async with Bot(TOKEN, base_url=f"{telegram}/bot") as bot:
        assert (await probes.telegram_polling(bot)).startswith("no webhook")
        await bot.set_webhook("http://127.0.0.1:9/telegram")
        with pytest.raises(ProbeFailed, match="another deployment uses this bot token"):
            await probes.telegram_polling(bot)


async def _async(value: Any) -> Any:
    return value


async def _fault(base: str, method: str, status: int, count: int) -> None:
    body = {"method": method, "status": status, "count": count}
    async with aiohttp.ClientSession() as http, http.post(f"{base}/_test/faults", json=body) as r:
        assert r.status == 200, await r.text()
