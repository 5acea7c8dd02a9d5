"""Socket Mode: events and button clicks over a WebSocket the app opens, for an app with no
public address.

`apps.connections.open`, with the app-level token (`xapp-…`) and nothing else, hands out a
`ws://…/link/?ticket=…` URL whose ticket works once. A connection gets `hello`, then every event
(`events_api`) and click (`interactive`) as an envelope the app acknowledges by sending back
`{"envelope_id": …}`. An event not acknowledged within `ack_timeout` (3 s, as Slack) is sent
again, `retry_attempt` + 1, after the same delays as the HTTP path's retries; with no connection
open it waits for the next one, so nothing is lost while the app restarts. The request URLs are
not used, as in Slack.
"""

from __future__ import annotations

import asyncio
import hmac
import itertools
import json
import secrets
import time
import uuid
from collections.abc import Sequence
from typing import Any

from aiohttp import WSMsgType, web

from .._common import Faults, read_params
from .events import Delivery
from .state import APP_ID

JSON = dict[str, Any]


class SocketMode:
    def __init__(self, app_token: str | None, faults: Faults, ack_timeout: float = 3.0) -> None:
        self.app_token = app_token  # None: Socket Mode is off, events go to the request URLs
        self.ack_timeout = ack_timeout
        self._faults = faults
        self._tickets: set[str] = set()
        self._sockets: dict[web.WebSocketResponse, set[str]] = {}  # -> envelope ids in flight
        self._acks: dict[str, asyncio.Future[JSON]] = {}
        self._changed = asyncio.Condition()
        self._turn = itertools.count()
        self.opened = 0  # connections ever accepted, for GET /_test/socket

    @property
    def enabled(self) -> bool:
        return self.app_token is not None

    async def connections_open(self, request: web.Request) -> web.Response:
        """`apps.connections.open`: only the app-level token may call it."""
        params, _files = await read_params(request)
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else ""
        token = token or str(params.get("token") or "")
        if not token:
            return _error("not_authed")
        if token.startswith(("xoxb-", "xoxp-")):
            return _error("not_allowed_token_type")
        if self.app_token is None or not hmac.compare_digest(token, self.app_token):
            return _error("invalid_auth")
        fault = self._faults.take("apps.connections.open")
        if fault is not None:
            return _error("fatal_error" if fault.status >= 500 else "request_failed", fault.status)
        ticket = secrets.token_urlsafe(16)
        self._tickets.add(ticket)
        url = request.url.with_scheme("ws").with_path("/link/")
        url = url.with_query({"ticket": ticket, "app_id": APP_ID})
        return web.json_response({"ok": True, "url": str(url)})

    async def link(self, request: web.Request) -> web.StreamResponse:
        """`GET /link/?ticket=…`: the WebSocket itself."""
        ticket = request.query.get("ticket", "")
        if ticket not in self._tickets:
            return web.json_response({"error": "invalid_ticket"}, status=401)
        self._tickets.discard(ticket)
        ws = web.WebSocketResponse()  # answers the client's pings (autoping)
        await ws.prepare(request)
        async with self._changed:
            self._sockets[ws] = set()
            self.opened += 1
            self._changed.notify_all()
        try:
            await ws.send_json(
                {
                    "type": "hello",
                    "num_connections": len(self._sockets),
                    "debug_info": {
                        "host": "applink-local",
                        "build_number": 1,
                        "approximate_connection_time": 18060,
                    },
                    "connection_info": {"app_id": APP_ID},
                }
            )
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self._acknowledged(message.data)
        finally:
            async with self._changed:
                in_flight = self._sockets.pop(ws, set())
                self._changed.notify_all()
            for envelope_id in in_flight:  # never acknowledged on this connection: send again
                future = self._acks.get(envelope_id)
                if future is not None and not future.done():
                    future.set_exception(ConnectionResetError("the connection closed"))
        return ws

    def _acknowledged(self, data: str) -> None:
        try:
            ack = json.loads(data)
        except ValueError:
            return
        if isinstance(ack, dict):
            future = self._acks.get(str(ack.get("envelope_id")))
            if future is not None and not future.done():
                future.set_result(ack)

    async def deliver_event(
        self, delivery: Delivery, payload: JSON, retry_delays: Sequence[float]
    ) -> None:
        """Send an `events_api` envelope until it is acknowledged, like the HTTP retries."""
        reason = ""
        for attempt, delay in enumerate((0.0, *retry_delays)):
            if delay:
                await asyncio.sleep(delay)  # Slack's back-off between retries
            ws = await self._connection()
            delivery.attempts += 1
            envelope = {"retry_attempt": attempt, "retry_reason": reason}
            try:
                await self._send(ws, "events_api", payload, self.ack_timeout, envelope)
            except TimeoutError:
                reason = "timeout"
                delivery.last_error = f"not acknowledged within {self.ack_timeout:g}s"
            except ConnectionError:
                reason, delivery.last_error = "timeout", "connection closed before the ack"
            else:
                delivery.status, delivery.last_error = "delivered", None
                return
        delivery.status = "failed"

    async def send_once(self, kind: str, payload: JSON, within_s: float) -> JSON:
        """One envelope (a click, or a test's own event), no retries: `{"status", "body"}`
        with 200 once acknowledged, or 504 when no connection took it in time."""
        started = time.monotonic()
        try:
            async with asyncio.timeout(within_s):
                ws = await self._connection()
            left = max(0.1, within_s - (time.monotonic() - started))
            extra = {"retry_attempt": 0, "retry_reason": ""} if kind == "events_api" else {}
            ack = await self._send(ws, kind, payload, left, extra)
        except (TimeoutError, ConnectionError) as exc:
            return {"status": 504, "body": f"not acknowledged: {exc!r}"}
        return {"status": 200, "body": json.dumps(ack["payload"]) if "payload" in ack else ""}

    async def _connection(self) -> web.WebSocketResponse:
        """An open connection (taking turns when there are several); waits for one."""
        async with self._changed:
            await self._changed.wait_for(lambda: any(not ws.closed for ws in self._sockets))
            open_ = [ws for ws in self._sockets if not ws.closed]
            return open_[next(self._turn) % len(open_)]

    async def _send(
        self, ws: web.WebSocketResponse, kind: str, payload: JSON, within_s: float, extra: JSON
    ) -> JSON:
        envelope_id = str(uuid.uuid4())
        future: asyncio.Future[JSON] = asyncio.get_running_loop().create_future()
        self._acks[envelope_id] = future
        in_flight = self._sockets.get(ws)
        if in_flight is None:
            raise ConnectionResetError("the connection closed")
        in_flight.add(envelope_id)
        try:
            envelope = {
                "envelope_id": envelope_id,
                "payload": payload,
                "type": kind,
                "accepts_response_payload": False,
                **extra,
            }
            await ws.send_str(json.dumps(envelope))
            async with asyncio.timeout(within_s):
                return await future
        finally:
            self._acks.pop(envelope_id, None)
            in_flight.discard(envelope_id)

    async def disconnect(self, _request: web.Request) -> web.Response:
        """`POST /_test/socket/disconnect`: ask every connection to reconnect, as Slack does
        before it refreshes a connection."""
        sockets = [ws for ws in self._sockets if not ws.closed]
        for ws in sockets:
            await ws.send_json(
                {
                    "type": "disconnect",
                    "reason": "refresh_requested",
                    "debug_info": {"host": "applink-local"},
                }
            )
        return web.json_response({"asked": len(sockets)})

    async def status(self, _request: web.Request) -> web.Response:
        """`GET /_test/socket`: whether it is on, and the connections open now and ever."""
        return web.json_response(
            {
                "enabled": self.enabled,
                "connections": sum(not ws.closed for ws in self._sockets),
                "opened": self.opened,
                "unacknowledged": len(self._acks),
            }
        )

    async def close_all(self) -> None:
        for ws in list(self._sockets):
            await ws.close(message=b"server shutdown")


def _error(code: str, status: int = 200) -> web.Response:
    return web.json_response({"ok": False, "error": code}, status=status)
