"""Builds the bridge's aiohttp application; every long-lived resource is a cleanup context."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Coroutine
from typing import Any

import aiohttp
from aiohttp import web
from redis.asyncio import Redis
from slack_sdk.web.async_client import AsyncWebClient
from telegram import Bot

from bridge import keys
from bridge.channels import slack, telegram, widget
from bridge.outbox import Outbox
from bridge.rasa_client import RasaClient
from bridge.router import Router
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


def create_app(settings: Settings) -> web.Application:
    app = web.Application(client_max_size=1024 * 1024)
    app[SETTINGS] = settings
    app[BACKGROUND] = []
    app.cleanup_ctx.extend([_services, _slack, _telegram, _background])
    app.router.add_get("/healthz", _healthz)
    widget.add_routes(app)
    slack.add_routes(app)
    if settings.telegram_enabled:
        telegram.add_routes(app)
    return app


async def _healthz(_: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def _services(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    redis = Redis.from_url(settings.redis_url, decode_responses=True)
    http = aiohttp.ClientSession()
    store = ConversationStore(redis)
    outbox = Outbox(redis)
    app[SERVICES] = Services(
        settings=settings,
        redis=redis,
        store=store,
        outbox=outbox,
        router=Router(store, outbox, RasaClient(http, settings.rasa_url, settings.rasa_timeout_s)),
        tokens=SessionTokens(settings.widget_secret or await _shared_widget_secret(redis)),
        widget_hub=WidgetHub(redis),
    )
    _spawn(app, app[SERVICES].widget_hub.run())
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
    client = AsyncWebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url)
    app[slack.BOLT_APP] = slack.build_bolt_app(services, client)
    sender = StreamSender(
        services.redis,
        keys.SLACK_OUTBOX,
        settings.instance,
        SlackThreadSender(client, services.store, settings.slack_channel_id),
        settings.max_send_attempts,
    )
    _spawn(app, sender.run())
    yield


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
    if settings.telegram_set_webhook:
        await bot.set_webhook(
            settings.public_url + telegram.WEBHOOK_PATH,
            secret_token=settings.telegram_webhook_secret,
            allowed_updates=["message", "callback_query"],
        )
    sender = StreamSender(
        services.redis,
        keys.TELEGRAM_OUTBOX,
        settings.instance,
        TelegramSender(bot),
        settings.max_send_attempts,
    )
    _spawn(app, sender.run())
    yield
    await bot.shutdown()


async def _background(app: web.Application) -> AsyncIterator[None]:
    yield
    tasks = app[BACKGROUND]
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _spawn(app: web.Application, job: Coroutine[Any, Any, None]) -> None:
    task = asyncio.create_task(job)
    task.add_done_callback(_log_crash)
    app[BACKGROUND].append(task)


def _log_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background task crashed", exc_info=task.exception())
