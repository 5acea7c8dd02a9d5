"""Routes widget messages published by any replica to the sockets this process holds."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict

from aiohttp import WSCloseCode, web
from redis.asyncio import Redis

from bridge import keys

log = logging.getLogger(__name__)


class WidgetHub:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._sockets: defaultdict[str, set[web.WebSocketResponse]] = defaultdict(set)
        self.subscribed = asyncio.Event()

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
        async with self._redis.pubsub(ignore_subscribe_messages=True) as pubsub:
            await pubsub.subscribe(keys.WIDGET_EVENTS)
            self.subscribed.set()
            async for event in pubsub.listen():
                if event.get("type") == "message":
                    await self._dispatch(event["data"])

    async def _dispatch(self, raw: str) -> None:
        event = json.loads(raw)
        # Either a new Message, or a ready frame (e.g. `update`/`delete` of a staff message).
        frame = json.dumps(
            event["frame"] if "frame" in event else {"type": "message", **event["message"]}
        )
        for socket in list(self._sockets.get(event["conversation"], ())):
            try:
                await socket.send_str(frame)
            except ConnectionError:
                self.detach(event["conversation"], socket)
