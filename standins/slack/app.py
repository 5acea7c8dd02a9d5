"""Assembles the Slack stand-in: Web API, Events API delivery (HTTP or Socket Mode),
interactivity, staff page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web

from .._common import Faults, Interval, parse_fault
from . import files, page
from .api import WebApi
from .events import EventDispatcher
from .hangs import Hangs, parse_hang
from .interact import Interactivity
from .scopes import BOT_TOKEN, TokenScopes, default_manifest, manifest_scopes
from .socket_mode import SocketMode
from .state import ALERTS_CHANNEL_ID, STAFF_CHANNEL_ID, Workspace


@dataclass(frozen=True)
class SlackConfig:
    signing_secret: str
    events_url: str | None = None
    # Where button clicks go; None means the events URL (bolt serves both on one path).
    interactivity_url: str | None = None
    channel_name: str = "support"
    # A second channel, ALERTS_CHANNEL_ID, with this name (None: none), for spike alerts.
    alerts_channel_name: str | None = None
    rate_limit: bool = False
    # Slack retries a failed delivery up to 3 times; it waits minutes, we wait seconds.
    retry_delays: tuple[float, ...] = (1.0, 5.0, 15.0)
    # Slack gives up on a response after 3 s.
    event_timeout: float = 3.0
    # Socket Mode: events and clicks go over the WebSocket the app opens with `app_token`
    # (apps.connections.open), not to the request URLs.
    socket_mode: bool = False
    app_token: str | None = None
    # The bridge's bot token's scopes: these, else the bot scopes of `manifest` (default: the
    # repository's deploy/slack-app-manifest.yml). See scopes.py.
    scopes: tuple[str, ...] | None = None
    manifest: Path | None = None

    def token_scopes(self) -> TokenScopes:
        if self.scopes is not None:
            return TokenScopes(self.scopes, "--scopes")
        manifest = self.manifest or default_manifest()
        return TokenScopes(manifest_scopes(manifest), str(manifest))

    def __post_init__(self) -> None:
        if self.socket_mode and not (self.app_token or "").startswith("xapp-"):
            raise ValueError("Socket Mode needs an app-level token (xapp-…)")


WORKSPACE = web.AppKey("workspace", Workspace)
EVENTS = web.AppKey("events", EventDispatcher)
FAULTS = web.AppKey("faults", Faults)
HANGS = web.AppKey("hangs", Hangs)
SOCKET = web.AppKey("socket", SocketMode)


def create_app(config: SlackConfig) -> web.Application:
    ws = Workspace(config.channel_name)
    if config.alerts_channel_name:
        ws.add_channel(ALERTS_CHANNEL_ID, config.alerts_channel_name)
    faults, hangs = Faults(), Hangs()
    socket = SocketMode(config.app_token if config.socket_mode else None, faults)
    transport = socket if socket.enabled else None
    events = EventDispatcher(
        config.events_url,
        config.signing_secret,
        config.retry_delays,
        config.event_timeout,
        socket=transport,
    )
    scopes = config.token_scopes()
    limit = Interval(1.0) if config.rate_limit else None
    api = WebApi(ws, events, faults, limit, hangs, scopes)
    interactivity = Interactivity(
        ws, config.interactivity_url or config.events_url, config.signing_secret, socket=transport
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

    async def scopes_route(_request: web.Request) -> web.Response:
        """`GET /_test/scopes`: the bridge's bot token, its scopes and where they came from."""
        body = {"token": BOT_TOKEN, "scopes": list(scopes.bot), "source": scopes.source}
        return web.json_response(body)

    async def connections_open(request: web.Request) -> web.Response:
        api.calls["apps.connections.open"] += 1  # app-level token only: not WebApi's checks
        return await socket.connections_open(request)

    async def deliver(request: web.Request) -> web.Response:
        """`POST /_test/deliver <event_callback>`: delivered once as it is, over whichever
        transport is on; answers what the receiver answered."""
        body = await request.json()
        if not isinstance(body, dict) or (events.url is None and events.socket is None):
            return web.json_response({"error": "expected an event_callback body"}, status=409)
        return web.json_response(await events.deliver_once(body))

    async def faults_route(request: web.Request) -> web.Response:
        body = await request.json()
        if isinstance(body, dict) and "hang" in body:
            return parse_hang(body, hangs)
        return await parse_fault(request, faults)

    async def release_hangs(_app: web.Application) -> None:
        hangs.release_all()
        await socket.close_all()

    app = web.Application()
    app[WORKSPACE], app[EVENTS], app[FAULTS], app[HANGS] = ws, events, faults, hangs
    app[SOCKET] = socket
    app.cleanup_ctx.append(http_clients)
    app.on_shutdown.append(release_hangs)
    app.add_routes(
        [
            web.route("*", "/api/apps.connections.open", connections_open),
            web.route("*", "/api/{method}", api.handle),
            web.get("/link/", socket.link),
            web.get("/_test/socket", socket.status),
            web.post("/_test/socket/disconnect", socket.disconnect),
            web.post("/_test/deliver", deliver),
            web.get("/_test/deliveries", deliveries),
            web.get("/_test/calls", calls),
            web.get("/_test/scopes", scopes_route),
            web.post("/_test/faults", faults_route),
            web.post("/_test/interact", interactivity.interact),
            web.post("/_test/response/{id}", interactivity.respond),
            *page.routes(ws, STAFF_CHANNEL_ID),
            *files.routes(ws, scopes),
        ]
    )
    return app
