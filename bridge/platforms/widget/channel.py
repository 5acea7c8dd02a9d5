"""The web widget as a customer channel: what it is given (the router's customer door, the
session tokens, this process's sockets) and the routes it serves."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from bridge.limits import AbuseLimits
from bridge.platforms.widget import http
from bridge.platforms.widget.clients import Client
from bridge.platforms.widget.hub import WidgetHub
from bridge.platforms.widget.sessions import SessionTokens
from bridge.platforms.widget.socket import serve_socket
from bridge.platforms.widget.wire import FILES_PATH
from bridge.ports import CustomerDoor, IdentityDoor


@dataclass(frozen=True)
class WidgetChannel:
    door: CustomerDoor
    identities: IdentityDoor
    sessions: SessionTokens
    hub: WidgetHub
    limits: AbuseLimits | None = None
    # The header a trusted proxy puts the client's address in ("": the TCP peer).
    address_header: str = ""

    def client(self, request: web.Request) -> Client:
        return Client.of(request, self.address_header)


def add_routes(app: web.Application, key: web.AppKey[WidgetChannel]) -> None:
    """The widget's pages, socket and files; the channel itself is built at start-up and found
    under `key`."""

    async def websocket(request: web.Request) -> web.StreamResponse:
        widget = request.app[key]
        return await serve_socket(
            request,
            widget.door,
            widget.identities,
            widget.sessions,
            widget.hub,
            widget.client(request),
            widget.limits,
        )

    async def attachment(request: web.Request) -> web.Response:
        return await http.attachment(request, request.app[key].door)

    async def upload(request: web.Request) -> web.Response:
        widget = request.app[key]
        return await http.upload(
            request, widget.door, widget.sessions, widget.client(request), widget.limits
        )

    app.router.add_get("/widget", http.to_widget_page)
    app.router.add_get("/widget/", http.static("index.html", "text/html"))
    app.router.add_get("/widget/widget.js", http.static("widget.js", "text/javascript"))
    app.router.add_get("/widget/ws", websocket)
    app.router.add_get(FILES_PATH + "/{id}/{name}", attachment)
    app.router.add_route("OPTIONS", "/widget/upload", http.upload_preflight)
    app.router.add_post("/widget/upload", upload)
