"""Assembles the Telegram stand-in: Bot API, file downloads, webhook delivery, test endpoints."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import web

from .._common import Faults, Interval, Window, parse_fault
from .api import BotApi
from .customer import Customer
from .state import BotState
from .webhook import Webhook


@dataclass(frozen=True)
class TelegramConfig:
    rate_limit: bool = False
    # Back-off between webhook retries doubles from `retry_initial` up to `retry_max`.
    retry_initial: float = 0.5
    retry_max: float = 10.0
    webhook_timeout: float = 10.0


STATE = web.AppKey("state", BotState)
WEBHOOK = web.AppKey("webhook", Webhook)
FAULTS = web.AppKey("faults", Faults)


def create_app(config: TelegramConfig | None = None) -> web.Application:
    config = config or TelegramConfig()
    state = BotState()
    webhook = Webhook(state, config.retry_initial, config.retry_max, config.webhook_timeout)
    faults = Faults()
    api = BotApi(
        state,
        webhook,
        faults,
        Interval(1.0) if config.rate_limit else None,
        Window(30) if config.rate_limit else None,
    )
    customer = Customer(state, webhook)

    async def delivery(_app: web.Application) -> AsyncIterator[None]:
        await webhook.start()
        yield
        await webhook.close()

    async def faults_route(request: web.Request) -> web.Response:
        return await parse_fault(request, faults)

    async def delivery_route(_request: web.Request) -> web.Response:
        """How updates leave: by webhook (its URL) or to getUpdates (whether one waits now)."""
        return web.json_response(
            {
                "webhook_url": webhook.url,
                "long_polling": webhook.long_polling,
                "pending": len(webhook.pending()),
            }
        )

    app = web.Application()
    app[STATE], app[WEBHOOK], app[FAULTS] = state, webhook, faults
    app.cleanup_ctx.append(delivery)
    # A waiting getUpdates would hold the shutdown until its timeout.
    app.on_shutdown.append(lambda _app: _end_long_poll(webhook))
    app.add_routes(
        [
            web.route("*", "/bot{token}/{method}", api.handle),
            web.get("/file/bot{token}/{path:.+}", api.download),
            web.post("/_test/customer/message", customer.message),
            web.post("/_test/customer/edit", customer.edit),
            web.post("/_test/customer/tap", customer.tap),
            web.post("/_test/customer/photo", customer.photo),
            web.post("/_test/customer/block", customer.block),
            web.get("/_test/sent", customer.sent),
            web.get("/_test/updates", customer.updates),
            web.get("/_test/delivery", delivery_route),
            web.post("/_test/faults", faults_route),
        ]
    )
    return app


async def _end_long_poll(webhook: Webhook) -> None:
    webhook.end_long_poll()
