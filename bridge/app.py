"""Builds the bridge's aiohttp application; every long-lived resource is a cleanup context."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import aiohttp
from aiohttp import web
from redis.asyncio import BlockingConnectionPool, Redis
from slack_sdk.web.async_client import AsyncWebClient
from telegram import Bot

from bridge import keys
from bridge.channels import slack, telegram, widget
from bridge.desk_watch import watch_unclaimed
from bridge.gc_tuning import FrozenCollector
from bridge.observability import endpoints, probes
from bridge.observability.timeline import Timeline
from bridge.office_hours import OfficeHours
from bridge.outbox import Outbox
from bridge.partitions import PartitionOwner
from bridge.rasa_client import RasaClient
from bridge.rate_limits import CustomerQuota, Limits, PlatformLimiter
from bridge.router import Availability, Router
from bridge.senders.slack import SlackThreadSender
from bridge.senders.stream import StreamSender
from bridge.senders.telegram import TelegramSender
from bridge.services import SERVICES, SETTINGS, Services
from bridge.settings import Settings
from bridge.store import ConversationStore
from bridge.tokens import SessionTokens
from bridge.widget_hub import WidgetHub

log = logging.getLogger(__name__)

BACKGROUND = web.AppKey("background", list[asyncio.Task[None]])
PARTITIONS = web.AppKey("partitions", PartitionOwner)
LIMITER = web.AppKey("limiter", PlatformLimiter)
# Handlers still running after this long at shutdown are cancelled; the platforms redeliver
# what we did not acknowledge, so this only bounds the wait.
HANDLER_GRACE_S = 5.0


def create_app(settings: Settings) -> web.Application:
    app = web.Application(client_max_size=1024 * 1024)
    app[SETTINGS] = settings
    app[BACKGROUND] = []
    app.cleanup_ctx.extend([_services, _slack, _telegram, _senders, _collector, _background])
    app.on_shutdown.append(_close_sockets)
    endpoints.add_routes(app)
    widget.add_routes(app)
    slack.add_routes(app)
    if settings.telegram_enabled:
        telegram.add_routes(app)
    return app


async def _services(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    # Waits for a free connection when a burst needs more than the pool holds; redis-py's
    # default pool raises "Too many connections" instead (bench: 100+ widgets saying hello).
    redis = Redis.from_pool(
        BlockingConnectionPool.from_url(
            settings.redis_url, decode_responses=True, max_connections=100
        )
    )
    http = aiohttp.ClientSession()
    store = ConversationStore(redis)
    widget_hub = WidgetHub(redis)
    outbox = Outbox(redis, widget_hub)
    timeline = Timeline(redis)
    app[SERVICES] = Services(
        settings=settings,
        redis=redis,
        store=store,
        outbox=outbox,
        router=Router(
            store,
            outbox,
            RasaClient(http, settings.rasa_url, settings.rasa_timeout_s),
            availability=_availability(settings),
            timeline=timeline,
        ),
        tokens=SessionTokens(settings.widget_secret or await _shared_widget_secret(redis)),
        widget_hub=widget_hub,
        timeline=timeline,
        widget_quota=CustomerQuota(redis, settings.widget_per_minute),
        telegram_quota=CustomerQuota(redis, settings.telegram_customer_per_minute),
    )
    app[PARTITIONS] = PartitionOwner(redis, settings.instance)
    app[LIMITER] = PlatformLimiter(
        redis,
        Limits(
            settings.slack_post_interval_s,
            settings.telegram_chat_interval_s,
            settings.telegram_per_s,
        ),
    )
    app[endpoints.METRICS_REDIS] = redis
    app[endpoints.PROBES]["redis"] = lambda: probes.redis(redis)
    app[endpoints.PROBES]["rasa"] = lambda: probes.rasa(http, settings.rasa_url)
    _spawn(app, app[SERVICES].widget_hub.run())
    _spawn(app, watch_unclaimed(store, app[SERVICES].router))
    _spawn(app, _sweep_idle(timeline, settings.idle_after_s))
    yield
    await http.close()
    await redis.aclose()


async def _shared_widget_secret(redis: Redis) -> str:
    # Every replica must sign and verify with the same key; the first one to start makes it.
    await redis.set(keys.WIDGET_SECRET, secrets.token_urlsafe(32), nx=True)
    return str(await redis.get(keys.WIDGET_SECRET))


async def _slack(app: web.Application) -> AsyncIterator[None]:
    services = app[SERVICES]
    settings = services.settings
    # One HTTP session for every Web API call: without it slack_sdk opens a new connection per
    # call, which cost a few percent of the relay's CPU (one receipt per staff reply).
    session = aiohttp.ClientSession()
    client = AsyncWebClient(
        token=settings.slack_bot_token, base_url=settings.slack_api_url, session=session
    )
    app[slack.BOLT_APP] = slack.build_bolt_app(services, client)
    app[endpoints.PROBES]["slack"] = lambda: probes.slack_auth(client)
    thread_sender = SlackThreadSender(
        client,
        services.store,
        settings.slack_channel_id,
        app[LIMITER],
        timeout_s=settings.slack_api_timeout_s,
    )

    def slack_sender(stream: str, still_owner: Callable[[], bool]) -> StreamSender:
        return StreamSender(
            services.redis,
            stream,
            settings.instance,
            thread_sender,
            settings.max_send_attempts,
            coalescer=thread_sender,
            still_owner=still_owner,
        )

    app[PARTITIONS].add(keys.outbox_streams(keys.SLACK_OUTBOX), slack_sender)
    yield
    await session.close()  # cleanup runs in reverse: the senders have stopped by now


async def _telegram(app: web.Application) -> AsyncIterator[None]:
    services = app[SERVICES]
    settings = services.settings
    if not settings.telegram_enabled:
        yield
        return
    bot = Bot(
        settings.telegram_bot_token,
        base_url=settings.telegram_api_url,
        base_file_url=settings.telegram_file_url,
    )
    await bot.initialize()
    app[telegram.TELEGRAM_BOT] = bot
    app[endpoints.PROBES]["telegram"] = lambda: probes.telegram_bot(bot)
    if settings.telegram_set_webhook:
        await bot.set_webhook(
            settings.public_url + telegram.WEBHOOK_PATH,
            secret_token=settings.telegram_webhook_secret,
            allowed_updates=["message", "callback_query"],
        )
    telegram_sender = TelegramSender(bot, services.store, app[LIMITER])

    def telegram_stream_sender(stream: str, still_owner: Callable[[], bool]) -> StreamSender:
        return StreamSender(
            services.redis,
            stream,
            settings.instance,
            telegram_sender,
            settings.max_send_attempts,
            on_dead=telegram_sender.undeliverable,
            still_owner=still_owner,
        )

    app[PARTITIONS].add(keys.outbox_streams(keys.TELEGRAM_OUTBOX), telegram_stream_sender)
    yield
    await bot.shutdown()


async def _senders(app: web.Application) -> AsyncIterator[None]:
    # Every outbound stream is sent by one replica at a time (bridge/partitions.py); the first
    # tick takes this replica's share before the app serves anything.
    owner = app[PARTITIONS]
    _spawn(app, owner.run())
    await owner.first_tick.wait()
    yield


async def _collector(app: web.Application) -> AsyncIterator[None]:
    # Last of the start-up steps, so what start-up allocated is frozen at once: with thousands
    # of widget sockets open, Python's own full collections stall every message for 0.2-0.5 s
    # (docs/benchmarks.md, measurement 4); bridge/gc_tuning.py says how, and what it costs.
    interval = app[SETTINGS].gc_full_interval_s
    if interval > 0:
        _spawn(app, FrozenCollector(interval).run())
    yield


async def _background(app: web.Application) -> AsyncIterator[None]:
    yield
    # SIGTERM: let every sender finish the delivery it has started (the platform may already
    # have the message; cutting it off would send it twice), then stop everything.
    grace = app[SETTINGS].shutdown_grace_s
    log.info("stopping: waiting up to %.0fs for deliveries in flight", grace)
    finished = await app[PARTITIONS].stop(grace)
    if not finished:
        log.warning("a delivery outlived the %.0fs shutdown grace; it will be retried", grace)
    tasks = app[BACKGROUND]
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _close_sockets(app: web.Application) -> None:
    if SERVICES in app:
        await app[SERVICES].widget_hub.close_all()


async def _sweep_idle(timeline: Timeline, idle_after_s: float) -> None:
    # Ends idle conversations for the metrics; every replica sweeps, each conversation is
    # claimed by exactly one.
    while True:
        try:
            await timeline.sweep_idle(idle_after_s)
        except Exception as exc:  # a Redis blip only delays the count
            log.warning("idle sweep failed: %s", exc)
        await asyncio.sleep(min(60.0, idle_after_s / 4))


def _spawn(app: web.Application, job: Coroutine[Any, Any, None]) -> None:
    task = asyncio.create_task(job)
    task.add_done_callback(_log_crash)
    app[BACKGROUND].append(task)


def _log_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background task crashed", exc_info=task.exception())


def _availability(settings: Settings) -> Availability:
    hours = OfficeHours.parse(settings.office_timezone, settings.office_days, settings.office_hours)
    return Availability(hours=hours, claim_timeout_s=settings.claim_timeout_s)
