"""The widget's live feed on Redis Cluster: a line one replica records (its script PUBLISHes the
event) reaches the sockets another replica's hub holds. Classic pub/sub: the cluster carries a
PUBLISH to every node, so a hub subscribed on any node hears every conversation."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from typing import Any

from bridge import redis_pool
from bridge.clock import now_ms
from bridge.models import Channel, Conversation, Message, Role
from bridge.outbox.jobs import PostCustomerLine
from bridge.outbox.outbox import Outbox
from bridge.platforms.widget.hub import WidgetHub
from bridge.store.conversations import Conversations
from bridge.store.dedupe import event_key
from bridge.store.transcript import Transcripts
from devstack.cluster import LocalCluster


class _Socket:
    def __init__(self) -> None:
        self.frames: asyncio.Queue[str] = asyncio.Queue()

    async def send_str(self, frame: str) -> None:
        await self.frames.put(frame)


async def test_a_line_reaches_the_socket_held_by_another_replica(
    cluster: LocalCluster, cluster_redis: Any
) -> None:
    redis = cluster_redis
    other = redis_pool.connect(cluster.url)  # the replica holding the socket
    hub = WidgetHub(other)
    listening = asyncio.create_task(hub.run())
    try:
        await asyncio.wait_for(hub.subscribed.wait(), 10)
        sockets = []
        for _ in range(10):  # conversations of several slots, every node
            conversation_id = f"w-{secrets.token_hex(6)}"
            socket = _Socket()
            hub.attach(conversation_id, socket)  # type: ignore[arg-type]
            sockets.append((conversation_id, socket))
        for conversation_id, _ in sockets:
            await Conversations(redis).ensure(conversation_id, Channel.WIDGET, conversation_id, "")
            conversation = Conversation(conversation_id, Channel.WIDGET, conversation_id, "")
            line = Message(role=Role.CUSTOMER, text=f"hello from {conversation_id}")
            recorded = await Transcripts(redis).record_inbound(
                conversation_id,
                line,
                event_key("widget", f"{conversation_id}:c1", conversation_id),
                PostCustomerLine(conversation_id, line.text),
                active_at_ms=now_ms(),
                live_event=Outbox(redis).live_event(conversation, line),
            )
            assert recorded.is_new, recorded
        for conversation_id, socket in sockets:
            frame = await asyncio.wait_for(socket.frames.get(), 10)
            assert f"hello from {conversation_id}" in frame
    finally:
        listening.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listening
        await other.aclose()
