"""The widget's WebSocket, speaking docs/widget-protocol.md: one session per open socket."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import replace
from typing import Any

from aiohttp import WSMsgType, web

from bridge.models import Channel, Conversation, Message, Role
from bridge.platforms.widget import wire
from bridge.platforms.widget.hub import WidgetHub
from bridge.platforms.widget.sessions import SessionTokens
from bridge.ports import CustomerDoor
from bridge.texts import customers as texts

MAX_TEXT_CHARS = 2000
MAX_FRAME_BYTES = 8 * 1024
MAX_CLIENT_MSG_ID = 64
# Far above MAX_FRAME_BYTES, so an oversized frame still reaches us and gets an error frame
# instead of aiohttp closing the connection.
SOCKET_MAX_MSG_SIZE = 1024 * 1024


class FrameError(Exception):
    def __init__(self, code: str, message: str, client_msg_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.client_msg_id = client_msg_id


async def serve_socket(
    request: web.Request, door: CustomerDoor, sessions: SessionTokens, hub: WidgetHub
) -> web.WebSocketResponse:
    socket = web.WebSocketResponse(heartbeat=30, max_msg_size=SOCKET_MAX_MSG_SIZE)
    await socket.prepare(request)
    session = WidgetSession(door, sessions, hub, socket)
    try:
        async for frame in socket:
            if frame.type == WSMsgType.TEXT:
                await session.handle(frame.data)
            elif frame.type == WSMsgType.BINARY:
                await session.send_error(FrameError("bad_frame", "frames must be JSON text"))
    finally:
        session.close()
    return socket


class WidgetSession:
    """One open socket: who it speaks for, and the frames it handles."""

    def __init__(
        self,
        door: CustomerDoor,
        sessions: SessionTokens,
        hub: WidgetHub,
        socket: web.WebSocketResponse,
    ) -> None:
        self._door = door
        self._sessions = sessions
        self._hub = hub
        self._socket = socket
        self._conversation: Conversation | None = None
        self._turns: set[asyncio.Task[None]] = set()

    async def handle(self, raw: str) -> None:
        try:
            frame = _parse(raw)
            if frame["type"] == "hello":
                await self._hello(frame)
            else:
                await self._message(frame)
        except FrameError as error:
            await self.send_error(error)

    async def send_error(self, error: FrameError) -> None:
        frame: dict[str, Any] = {"type": "error", "code": error.code, "message": str(error)}
        if error.client_msg_id:
            frame["client_msg_id"] = error.client_msg_id
        await self._socket.send_json(frame)

    def close(self) -> None:
        if self._conversation is not None:
            self._hub.detach(self._conversation.id, self._socket)

    async def _hello(self, frame: dict[str, Any]) -> None:
        tokens = self._sessions
        token = frame.get("token")
        conversation_id = tokens.verify(token) if token is not None else None
        if token is not None and conversation_id is None:
            await self.send_error(FrameError("bad_token", texts.UNKNOWN_SESSION))
        since = frame.get("since")
        if conversation_id is None:
            conversation_id, since = f"w-{uuid.uuid4().hex}", None
        elif since is not None and not _is_stream_id(since):
            raise FrameError("bad_frame", "`since` must be a message id or null")
        self.close()
        self._conversation = await self._door.ensure(
            conversation_id, Channel.WIDGET, conversation_id, display_name=""
        )
        # Listen before reading history, so nothing published in between is missed; the
        # client de-duplicates by id.
        self._hub.attach(conversation_id, self._socket)
        history = await self._door.history(conversation_id, since)
        await self._socket.send_json(
            {
                "type": "welcome",
                "token": tokens.issue(conversation_id),
                "conversation_id": conversation_id,
            }
        )
        await self._socket.send_json(
            {"type": "history", "messages": [wire.message(m) for m in history]}
        )

    async def _message(self, frame: dict[str, Any]) -> None:
        client_msg_id = frame.get("client_msg_id")
        if not isinstance(client_msg_id, str) or not 0 < len(client_msg_id) <= MAX_CLIENT_MSG_ID:
            raise FrameError("bad_frame", "`client_msg_id` must be a string of 1-64 characters")
        text, payload = frame.get("text"), frame.get("payload", "")
        if not isinstance(text, str) or not text.strip() or not isinstance(payload, str):
            raise FrameError("bad_frame", "`text` must be a non-empty string", client_msg_id)
        if len(text) > MAX_TEXT_CHARS:
            raise FrameError("too_large", texts.text_too_long(MAX_TEXT_CHARS), client_msg_id)
        if self._conversation is None:
            raise FrameError("bad_frame", "send `hello` first", client_msg_id)
        conversation = self._conversation
        message = Message(role=Role.CUSTOMER, text=text, client_msg_id=client_msg_id)
        file_id = frame.get("file")
        if file_id is not None:
            meta = await self._door.file_meta(str(file_id))
            if meta is None or meta.owner != conversation.id:
                raise FrameError("bad_frame", "`file` is not a file uploaded here", client_msg_id)
            message = replace(
                message, file_id=str(file_id), file_name=meta.name, file_type=meta.type
            )
        door = self._door
        # The quota is checked in the step that records the message (one round trip, not two).
        inbound = await door.accept(
            conversation, message, f"{conversation.id}:{client_msg_id}", check_quota=True
        )
        if inbound.over_quota:
            raise FrameError(
                "rate_limited",
                texts.too_many_messages(door.per_minute(Channel.WIDGET)),
                client_msg_id,
            )
        await self._socket.send_json(
            {"type": "ack", "client_msg_id": client_msg_id, "id": inbound.message.id}
        )
        # The turn runs beside the socket loop so a slow assistant never stalls the socket; the
        # router keeps turns of one conversation in order.
        turn = asyncio.create_task(door.respond(conversation, inbound, _slash_payload(payload)))
        self._turns.add(turn)
        turn.add_done_callback(self._turns.discard)


def _parse(raw: str) -> dict[str, Any]:
    if len(raw.encode()) > MAX_FRAME_BYTES:
        raise FrameError("too_large", f"frames are limited to {MAX_FRAME_BYTES} bytes")
    try:
        frame = json.loads(raw)
    except ValueError:
        raise FrameError("bad_json", "the frame is not valid JSON") from None
    if not isinstance(frame, dict):
        raise FrameError("bad_json", "the frame must be a JSON object")
    if frame.get("type") not in ("hello", "message"):
        raise FrameError("bad_frame", "`type` must be `hello` or `message`")
    return frame


def _slash_payload(payload: str) -> str:
    # Only intent payloads go to the assistant verbatim; anything else is ignored.
    return payload if payload.startswith("/") and len(payload) <= 200 else ""


def _is_stream_id(value: object) -> bool:
    if not isinstance(value, str):
        return False
    ms, _, seq = value.partition("-")
    return ms.isdigit() and (seq == "" or seq.isdigit())
