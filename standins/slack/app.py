"""Assembles the Slack stand-in: Web API, Events API delivery, interactivity, staff page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
from aiohttp import web

from .._common import Faults, Interval, parse_fault
from . import files, page
from .api import WebApi
from .events import EventDispatcher
from .hangs import Hangs, parse_hang
from .interact import Interactivity
from .state import STAFF_CHANNEL_ID, Workspace


@dataclass(frozen=True)
class SlackConfig:
    signing_secret: str
    events_url: str | None = None
    # Where button clicks go; None means the events URL (bolt serves both on one path).
    interactivity_url: str | None = None
    channel_name: str = "support"
    rate_limit: bool = False
    # Slack retries a failed delivery up to 3 times; it waits minutes, we wait seconds.
    retry_delays: tuple[float, ...] = (1.0, 5.0, 15.0)
    # Slack gives up on a response after 3 s.
    event_timeout: float = 3.0


WORKSPACE = web.AppKey("workspace", Workspace)
EVENTS = web.AppKey("events", EventDispatcher)
FAULTS = web.AppKey("faults", Faults)
HANGS = web.AppKey("hangs", Hangs)


def create_app(config: SlackConfig) -> web.Application:
    ws = Workspace(config.channel_name)
    events = EventDispatcher(
        config.events_url, config.signing_secret, config.retry_delays, config.event_timeout
    )
    faults, hangs = Faults(), Hangs()
    api = WebApi(ws, events, faults, Interval(1.0) if config.rate_limit else None, hangs)
    interactivity = Interactivity(
        ws, config.interactivity_url or config.events_url, config.signing_secret
    )

    async def http_clients(_app: web.Application) -> AsyncIterator[None]:
        await events.start()
        interactivity.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        yield
        await interactivity.session.close()
        await events.close()

    async def deliveries(_request: web.Request) -> web.Response:
        return web.json_response(events.records())

    async def calls(_request: web.Request) -> web.Response:
        return web.json_response(dict(api.calls))

    async def faults_route(request: web.Request) -> web.Response:
        body = await request.json()
        if isinstance(body, dict) and "hang" in body:
            return parse_hang(body, hangs)
        return await parse_fault(request, faults)

    async def release_hangs(_app: web.Application) -> None:
        hangs.release_all()

    app = web.Application()
    app[WORKSPACE], app[EVENTS], app[FAULTS], app[HANGS] = ws, events, faults, hangs
    app.cleanup_ctx.append(http_clients)
    app.on_shutdown.append(release_hangs)
    app.add_routes(
        [
            web.route("*", "/api/{method}", api.handle),
            web.get("/_test/deliveries", deliveries),
            web.get("/_test/calls", calls),
            web.post("/_test/faults", faults_route),
            web.post("/_test/interact", interactivity.interact),
            web.post("/_test/response/{id}", interactivity.respond),
            *page.routes(ws, STAFF_CHANNEL_ID),
            *files.routes(ws),
        ]
    )
    return app
