"""Slack Socket Mode (SLACK_APP_TOKEN): the bridge opens a WebSocket to Slack and gets events
and button clicks over it, so Slack needs no public address of the bridge.

slack-bolt's own adapter runs every envelope through the same AsyncApp as the HTTP routes
(inbound.SlackInbound.bolt). That app has process_before_response: bolt returns only once the
handler has finished, the reply queued in Redis, and the adapter acknowledges the envelope only
then, and only when bolt answered 200. A crash, a failure (a 500, StaffUnknown) or a shutdown
before that leaves the envelope unacknowledged, and Slack sends it again (retry_attempt + 1),
to this or another replica's connection; the handlers are idempotent, as for HTTP retries.

The HTTP fast path of inbound.py is not used: every envelope goes through bolt.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)


class _Handler(AsyncSocketModeHandler):
    """Bolt's handler, counting the envelopes in hand so a shutdown can let them finish."""

    def __init__(self, app: AsyncApp, app_token: str, web_client: AsyncWebClient) -> None:
        super().__init__(app, app_token, web_client=web_client)
        self.draining = False
        self.in_hand = 0
        self.idle = asyncio.Event()
        self.idle.set()

    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        if self.draining:
            return  # not acknowledged: Slack sends it again, to a process that stays
        self.in_hand += 1
        self.idle.clear()
        try:
            await super().handle(client, req)  # acknowledges once bolt has answered 200
        finally:
            self.in_hand -= 1
            if not self.in_hand:
                self.idle.set()


class SlackSocket:
    def __init__(self, bolt: AsyncApp, app_token: str, web_client: AsyncWebClient) -> None:
        # `web_client` (SLACK_API_URL) opens the connections: apps.connections.open, with the
        # app token, asked of the configured Slack, not of slack.com.
        self._handler = _Handler(bolt, app_token, web_client)
        self._connecting: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Connect in the background: the bridge serves without Slack, as with HTTP; slack_sdk
        retries until it connects, and reconnects whenever the connection drops or Slack asks."""
        self._connecting = asyncio.create_task(self._handler.connect_async())

    async def connected(self) -> bool:
        return await self._handler.client.is_connected()

    async def close(self, grace_s: float) -> None:
        """Let the envelopes in hand finish (their acks go out), refuse new ones, disconnect."""
        self._handler.draining = True
        if self._handler.in_hand:
            log.info("Socket Mode: waiting for %d envelope(s) in hand", self._handler.in_hand)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._handler.idle.wait(), grace_s)
        if self._connecting is not None and not self._connecting.done():
            self._connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connecting
        await self._handler.close_async()
