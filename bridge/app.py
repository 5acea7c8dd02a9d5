"""Builds the bridge's aiohttp application: the one place where its parts are wired together.

Every long-lived resource is a cleanup context. The core (Redis, the store, the outbox, the
router's two sides, the learning loop) comes first; then each platform: its inbound adapter,
given only its door into the router (bridge/ports.py), and its sender, given to the outbox's
partitions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from redis.asyncio import Redis
from slack_sdk.web.async_client import AsyncWebClient
from telegram import Bot

from bridge import keys, redis_pool
from bridge.desk_watch import watch_unclaimed
from bridge.gc_tuning import FrozenCollector
from bridge.identity import IdentityVerifier
from bridge.learning.marks import StaffMarks
from bridge.learning.spikes import SpikeRule
from bridge.learning.turns import Learning
from bridge.limits import AbuseLimits, AbusePolicy, Limiter
from bridge.models import Channel
from bridge.observability import endpoints, probes
from bridge.observability.timeline import Timeline
from bridge.office_hours import Availability
from bridge.outbox.delivery import Coalescer, Sender
from bridge.outbox.drain import StreamSender
from bridge.outbox.outbox import Outbox
from bridge.outbox.partitions import PartitionOwner
from bridge.platforms.shop import api as shop_api
from bridge.platforms.shop.api import ShopApi
from bridge.platforms.slack import inbound as slack_inbound
from bridge.platforms.slack import probes as slack_probes
from bridge.platforms.slack.api import SlackCalls
from bridge.platforms.slack.files import SlackFiles
from bridge.platforms.slack.inbound import SlackInbound
from bridge.platforms.slack.sender import SlackSender
from bridge.platforms.slack.socket_mode import SlackSocket
from bridge.platforms.telegram import probes as telegram_probes
from bridge.platforms.telegram import webhook as telegram_webhook
from bridge.platforms.telegram.polling import PollerLease, TelegramPoller
from bridge.platforms.telegram.sender import TelegramSender
from bridge.platforms.telegram.webhook import TelegramWebhook
from bridge.platforms.widget import channel as widget_channel
from bridge.platforms.widget.channel import WidgetChannel
from bridge.platforms.widget.hub import WidgetHub
from bridge.platforms.widget.sessions import SessionTokens, shared_secret
from bridge.rasa_client import RasaClient
from bridge.rate_limits import CustomerQuota, Limits, PlatformLimiter
from bridge.router.customers import CustomerSide
from bridge.router.sign_in import SignIn
from bridge.router.staff import StaffSide
from bridge.settings import Settings
from bridge.store.stores import Store

log = logging.getLogger(__name__)

# Handlers still running after this long at shutdown are cancelled; the platforms redeliver
# what we did not acknowledge, so this only bounds the wait.
HANDLER_GRACE_S = 5.0


@dataclass(frozen=True)
class Core:
    """What every platform's wiring needs; built once, seen only by this module."""

    settings: Settings
    redis: Redis
    store: Store
    outbox: Outbox
    customers: CustomerSide
    sign_in: SignIn
    staff: StaffSide
    marks: StaffMarks
    hub: WidgetHub
    limiter: PlatformLimiter
    partitions: PartitionOwner


SETTINGS = web.AppKey("settings", Settings)
CORE = web.AppKey("core", Core)
BACKGROUND = web.AppKey("background", list[asyncio.Task[None]])
WIDGET = web.AppKey("widget", WidgetChannel)
SLACK = web.AppKey("slack", SlackInbound)
TELEGRAM = web.AppKey("telegram", TelegramWebhook)
SHOP = web.AppKey("shop", ShopApi)


def create_app(settings: Settings) -> web.Application:
    app = web.Application(client_max_size=1024 * 1024)
    app[SETTINGS] = settings
    app[BACKGROUND] = []
    app.cleanup_ctx.extend([_core, _slack, _telegram, _senders, _collector, _background])
    app.on_shutdown.append(_close_sockets)
    endpoints.add_routes(app, settings.ops_token, settings.client_address_header)
    widget_channel.add_routes(app, WIDGET)
    slack_inbound.add_routes(app, SLACK)
    shop_api.add_routes(app, SHOP)
    if settings.telegram_enabled and not settings.telegram_polling:
        telegram_webhook.add_routes(app, TELEGRAM)
    return app


async def _core(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    redis = redis_pool.connect(settings.redis_url)
    http = aiohttp.ClientSession()
    store = Store.on(redis, settings)
    hub = WidgetHub(redis)
    outbox = Outbox(redis, hub)
    timeline = Timeline(redis)
    availability = Availability.from_settings(
        settings.office_timezone,
        settings.office_days,
        settings.office_hours,
        settings.claim_timeout_s,
    )
    abuse_limits = AbuseLimits(Limiter(redis), AbusePolicy.from_settings(settings))
    learning = Learning(
        redis,
        outbox,
        settings.retention_s,
        settings.slack_channel_id,
        SpikeRule(
            settings.spike_alert_channel,
            settings.spike_multiple,
            settings.spike_min_count,
            settings.spike_min_share,
        ),
    )
    # One Rasa server or several (RASA_URL), health-checked in the background.
    rasa = RasaClient(http, settings.rasa_url, settings.rasa_timeout_s)
    customers = CustomerSide(
        store,
        outbox,
        rasa,
        learning=learning,
        availability=availability,
        timeline=timeline,
        quotas={
            Channel.WIDGET: CustomerQuota(redis, settings.widget_per_minute),
            Channel.TELEGRAM: CustomerQuota(redis, settings.telegram_customer_per_minute),
        },
        limits=abuse_limits,
        retention_s=settings.retention_s,
    )
    staff = StaffSide(store, outbox, availability=availability, timeline=timeline)
    verifier = IdentityVerifier(
        settings.shop_identity_secret,
        settings.identity_clock_skew_s,
        settings.identity_max_lifetime_s,
    )
    sign_in = SignIn(
        store, outbox, verifier, settings.telegram_link_ttl_s, retention_s=settings.retention_s
    )
    limits = Limits(
        settings.slack_post_interval_s, settings.telegram_chat_interval_s, settings.telegram_per_s
    )
    app[CORE] = Core(
        settings=settings,
        redis=redis,
        store=store,
        outbox=outbox,
        customers=customers,
        sign_in=sign_in,
        staff=staff,
        marks=StaffMarks(store, outbox, redis),
        hub=hub,
        limiter=PlatformLimiter(redis, limits),
        partitions=PartitionOwner(redis, settings.instance),
    )
    secret = settings.widget_secret or await shared_secret(redis)
    sessions = SessionTokens(secret, redis, settings.session_ttl_s)
    app[WIDGET] = WidgetChannel(
        customers,
        sign_in,
        sessions,
        hub,
        limits=abuse_limits,
        address_header=settings.client_address_header,
    )
    app[SHOP] = ShopApi(sign_in, verifier, settings.telegram_link_ttl_s)
    app[endpoints.METRICS_REDIS] = redis
    _spawn(app, store.upkeep(redis))  # expired files' contents, files and Redis memory gauges
    _spawn(app, outbox.upkeep(settings.retention_s))  # queues trimmed to the retention
    app[endpoints.PROBES]["redis"] = lambda: probes.redis(redis)
    app[endpoints.PROBES]["rasa"] = lambda: probes.rasa(http, settings.rasa_url)
    _spawn(app, rasa.watch())
    _spawn(app, hub.run())
    _spawn(app, watch_unclaimed(store.conversations, staff))
    _spawn(app, _sweep_idle(timeline, settings.idle_after_s))
    yield
    await http.close()
    await redis.aclose()


async def _slack(app: web.Application) -> AsyncIterator[None]:
    core = app[CORE]
    settings = core.settings
    # One HTTP session for every Web API call: without it slack_sdk opens a new connection per
    # call, which cost a few percent of the relay's CPU (one receipt per staff reply).
    session = aiohttp.ClientSession()
    client = AsyncWebClient(
        token=settings.slack_bot_token, base_url=settings.slack_api_url, session=session
    )
    app[SLACK] = SlackInbound(
        client,
        settings.slack_signing_secret,
        settings.slack_channel_id,
        desk=core.staff,
        staff_marks=core.marks,
        files=SlackFiles(settings.slack_bot_token, settings.slack_api_url),
        staff_usergroup=settings.slack_staff_usergroup,
    )
    app[endpoints.PROBES]["slack"] = lambda: slack_probes.slack_auth(client)
    calls = SlackCalls(client, settings.slack_api_timeout_s, core.limiter)
    sender = SlackSender(calls, core.store, settings.slack_channel_id)
    core.partitions.add(keys.outbox_streams(keys.SLACK_OUTBOX), _drains(core, sender, sender))
    socket: SlackSocket | None = None
    if settings.slack_app_token:  # Socket Mode: the same bolt app, over Slack's WebSocket
        socket = SlackSocket(app[SLACK].bolt, settings.slack_app_token, client)
        socket.start()
        connected = socket.connected
        app[endpoints.PROBES]["slack socket"] = lambda: slack_probes.slack_socket(connected)
    yield
    if socket is not None:  # envelopes in hand finish and are acknowledged; the rest come again
        await socket.close(HANDLER_GRACE_S)
    await session.close()  # cleanup runs in reverse: the senders have stopped by now


async def _telegram(app: web.Application) -> AsyncIterator[None]:
    core = app[CORE]
    settings = core.settings
    if not settings.telegram_enabled:
        yield
        return
    bot = Bot(
        settings.telegram_bot_token,
        base_url=settings.telegram_api_url,
        base_file_url=settings.telegram_file_url,
    )
    await bot.initialize()
    app[TELEGRAM] = TelegramWebhook(
        core.customers, core.sign_in, bot, settings.telegram_webhook_secret
    )
    app[SHOP].telegram_bot = bot.username  # account links name the bot
    app[endpoints.PROBES]["telegram"] = lambda: telegram_probes.telegram_bot(bot)
    poller = None
    if settings.telegram_polling:  # no public address: ask Telegram (getUpdates) instead
        poller = TelegramPoller(bot, app[TELEGRAM], PollerLease(core.redis, settings.instance))
        poller.start()
    elif settings.telegram_set_webhook:
        await bot.set_webhook(
            settings.public_url + telegram_webhook.WEBHOOK_PATH,
            secret_token=settings.telegram_webhook_secret,
            allowed_updates=telegram_webhook.ALLOWED_UPDATES,
        )
    sender = TelegramSender(bot, core.store, core.limiter)
    core.partitions.add(keys.outbox_streams(keys.TELEGRAM_OUTBOX), _drains(core, sender))
    yield
    if poller is not None:  # updates in hand finish and are confirmed; the rest come again
        await poller.stop(HANDLER_GRACE_S)
    await bot.shutdown()


def _drains(
    core: Core, sender: Sender, coalescer: Coalescer | None = None
) -> Callable[[str, Callable[[], bool]], StreamSender]:
    """How to build the drain of one of a platform's streams, once this replica holds it."""

    def drain(stream: str, still_owner: Callable[[], bool]) -> StreamSender:
        return StreamSender(
            core.redis,
            core.outbox,
            stream,
            core.settings.instance,
            sender,
            core.settings.max_send_attempts,
            coalescer=coalescer,
            still_owner=still_owner,
        )

    return drain


async def _senders(app: web.Application) -> AsyncIterator[None]:
    # Every outbound stream is sent by one replica at a time (bridge/outbox/partitions.py); the
    # first tick takes this replica's share before the app serves anything.
    owner = app[CORE].partitions
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
    finished = await app[CORE].partitions.stop(grace)
    if not finished:
        log.warning("a delivery outlived the %.0fs shutdown grace; it will be retried", grace)
    tasks = app[BACKGROUND]
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _close_sockets(app: web.Application) -> None:
    if CORE in app:
        await app[CORE].hub.close_all()


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
