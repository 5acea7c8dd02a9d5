"""The widget sockets this process holds, fed from the conversations' live feed.

A message this process wrote goes to its own sockets at once (`deliver`), without waiting for
its own publish to come back from Redis: that hop was a tenth of the bridge's cost on a bot
turn (docs/benchmarks.md). The published event names this process as its `origin`, so the
hub skips it when it does come back; other replicas deliver it to theirs.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import defaultdict

from aiohttp import WSCloseCode, web
from redis.asyncio import Redis

from bridge import keys, redis_pool
from bridge.models import Message
from bridge.outbox import live
from bridge.platforms.widget import wire

log = logging.getLogger(__name__)


class WidgetHub:
    """live.LiveSockets for the widget."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._sockets: defaultdict[str, set[web.WebSocketResponse]] = defaultdict(set)
        self.subscribed = asyncio.Event()
        # Names this process in the events it publishes (live.line_event).
        self.origin = uuid.uuid4().hex[:12]

    def attach(self, conversation_id: str, socket: web.WebSocketResponse) -> None:
        self._sockets[conversation_id].add(socket)

    def detach(self, conversation_id: str, socket: web.WebSocketResponse) -> None:
        sockets = self._sockets.get(conversation_id)
        if sockets is not None:
            sockets.discard(socket)
            if not sockets:
                del self._sockets[conversation_id]

    async def close_all(self) -> None:
        """Close every socket (1001 going away) at shutdown; widgets reconnect elsewhere."""
        for socket in [s for group in self._sockets.values() for s in group]:
            await socket.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down")

    async def run(self) -> None:
        while True:
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except Exception:
                # Sockets that missed a message while Redis was away get it from the transcript
                # on their next `hello`, since the widget reconnects with `since`.
                log.exception("widget hub lost its subscription; resubscribing")
                await asyncio.sleep(1)

    async def _listen(self) -> None:
        async with await redis_pool.pubsub(self._redis, ignore_subscribe_messages=True) as pubsub:
            await pubsub.subscribe(keys.WIDGET_EVENTS)
            self.subscribed.set()
            async for event in pubsub.listen():
                if event.get("type") == "message":
                    await self._dispatch(event["data"])

    async def deliver(self, conversation_id: str, message: Message) -> None:
        """A message this process just wrote (and published with its origin): send it to the
        conversation's sockets held here."""
        if conversation_id in self._sockets:
            await self._send(conversation_id, wire.message_frame(message))

    async def _dispatch(self, raw: str) -> None:
        event = live.parse(raw)
        if isinstance(event, live.LiveRevision):
            frame = wire.revision_frame(event.message_id, event.text)
        elif event.origin == self.origin:
            return  # this process's own message: `deliver` sent it already
        else:
            frame = wire.message_frame(event.message)
        await self._send(event.conversation, frame)

    async def _send(self, conversation_id: str, frame: str) -> None:
        for socket in list(self._sockets.get(conversation_id, ())):
            try:
                await socket.send_str(frame)
            except ConnectionError:
                self.detach(conversation_id, socket)
