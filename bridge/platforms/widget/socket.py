"""The widget's WebSocket, speaking docs/widget-protocol.md: one session per open socket."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import replace
from typing import Any

from aiohttp import WSMsgType, web
from redis.exceptions import RedisError

from bridge.limits import AbuseLimits, Refusal
from bridge.models import Channel, Conversation, Message, Role
from bridge.platforms.widget import http, wire
from bridge.platforms.widget.clients import Client
from bridge.platforms.widget.hub import WidgetHub
from bridge.platforms.widget.sessions import SessionTokens
from bridge.ports import CustomerDoor, IdentityDoor
from bridge.texts import customers as texts

log = logging.getLogger(__name__)

MAX_TEXT_CHARS = 2000
MAX_FRAME_BYTES = 8 * 1024
MAX_CLIENT_MSG_ID = 64
# Far above MAX_FRAME_BYTES, so an oversized frame still reaches us and gets an error frame
# instead of aiohttp closing the connection.
SOCKET_MAX_MSG_SIZE = 1024 * 1024


class FrameError(Exception):
    def __init__(
        self,
        code: str,
        message: str,
        client_msg_id: str | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.client_msg_id = client_msg_id
        self.retry_after_s = retry_after_s

    @classmethod
    def limited(cls, refusal: Refusal, client_msg_id: str | None) -> FrameError:
        return cls(
            "rate_limited",
            texts.limited(refusal.retry_after_s),
            client_msg_id,
            refusal.retry_after_s,
        )


async def serve_socket(
    request: web.Request,
    door: CustomerDoor,
    identities: IdentityDoor,
    sessions: SessionTokens,
    hub: WidgetHub,
    client: Client,
    limits: AbuseLimits | None = None,
) -> web.StreamResponse:
    if limits is not None:
        refused = await limits.connection(client.source)
        if refused is not None:
            # Before the handshake: a flood of connections costs a refusal each, no more. The
            # widget reconnects with its back-off.
            return http.limited(refused)
    socket = web.WebSocketResponse(heartbeat=30, max_msg_size=SOCKET_MAX_MSG_SIZE)
    await socket.prepare(request)
    session = WidgetSession(door, identities, sessions, hub, socket, client, limits)
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
        identities: IdentityDoor,
        sessions: SessionTokens,
        hub: WidgetHub,
        socket: web.WebSocketResponse,
        client: Client,
        limits: AbuseLimits | None = None,
    ) -> None:
        self._door = door
        self._identities = identities
        # Where the customer writes from: for the abuse limits and the shop's limit on failed
        # order checks.
        self._source = client.source
        self._origin = client.origin
        self._limits = limits
        self._stored = False
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
            elif frame["type"] == "identify":
                await self._identify(frame)
            else:
                await self._message(frame)
        except FrameError as error:
            await self.send_error(error)
        except RedisError as exc:
            # Redis is down or full (it refuses writes rather than evict: docs/deployment.md).
            # Nothing was recorded; the widget keeps the message and sends it again.
            log.error("widget frame not handled, Redis refused: %s", exc)
            msg_id = _client_msg_id(raw)
            await self.send_error(FrameError("unavailable", texts.UNAVAILABLE, msg_id, 30.0))

    async def send_error(self, error: FrameError) -> None:
        frame: dict[str, Any] = {"type": "error", "code": error.code, "message": str(error)}
        if error.client_msg_id:
            frame["client_msg_id"] = error.client_msg_id
        if error.retry_after_s is not None:
            frame["retry_after"] = round(error.retry_after_s, 1)
        await self._socket.send_json(frame)

    def close(self) -> None:
        if self._conversation is not None:
            self._hub.detach(self._conversation.id, self._socket)

    async def _hello(self, frame: dict[str, Any]) -> None:
        token = frame.get("token")
        conversation_id = await self._sessions.verify(token) if token is not None else None
        if token is not None and conversation_id is None:
            await self.send_error(FrameError("bad_token", texts.UNKNOWN_SESSION))
        since = frame.get("since")
        if since is not None and not _is_stream_id(since):
            raise FrameError("bad_frame", "`since` must be a message id or null")
        await self._start(conversation_id, _identity(frame), since)

    async def _identify(self, frame: dict[str, Any]) -> None:
        """The page signed a customer in (or out, with null) without reloading."""
        if self._conversation is None:
            raise FrameError("bad_frame", "send `hello` first")
        current = self._conversation.id
        await self._start(current, _identity(frame), None, only_if_changed=True)

    async def _start(
        self,
        conversation_id: str | None,
        identity: str | None,
        since: str | None,
        only_if_changed: bool = False,
    ) -> None:
        """Speak for the conversation the session (and the page's sign-in) gives: welcome it,
        with its history (all of it, for a conversation other than the one asked for)."""
        session = await self._identities.widget_session(conversation_id, identity, self._source)
        if session.refused is not None:
            reason = texts.identity_refused(str(session.refused))
            await self.send_error(FrameError("bad_identity", reason))
        conversation = session.conversation
        self._stored = session.stored
        if conversation.id != conversation_id:
            since = None
        elif only_if_changed:
            self._conversation = conversation
            return
        self.close()
        self._conversation = conversation
        # Listen before reading history, so nothing published in between is missed; the
        # client de-duplicates by id.
        self._hub.attach(conversation.id, self._socket)
        history = await self._door.history(conversation.id, since)
        welcome: dict[str, Any] = {
            "type": "welcome",
            "token": self._sessions.issue(conversation.id),
            "conversation_id": conversation.id,
            "customer": _signed_in(conversation),
        }
        await self._socket.send_json(welcome)
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
        if self._limits is not None:
            refused = await self._limits.message(self._source)
            if refused is not None:
                raise FrameError.limited(refused, client_msg_id)
        if not self._stored:
            await self._begin(client_msg_id)
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
            conversation,
            message,
            f"{conversation.id}:{client_msg_id}",
            check_quota=True,
            payload=_slash_payload(payload),
        )
        if inbound.ended:
            # Erased (`make forget`) or expired while the socket was open: start afresh; the
            # widget sends the message again in the new conversation.
            await self._start(None, None, None)
            raise FrameError("session_ended", texts.SESSION_ENDED, client_msg_id, 0.5)
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
        turn = asyncio.create_task(door.respond(conversation, inbound))
        self._turns.add(turn)
        turn.add_done_callback(self._turns.discard)

    async def _begin(self, client_msg_id: str) -> None:
        """The first message of a conversation stores it, if this source and origin may start
        one now."""
        assert self._conversation is not None
        if self._limits is not None:
            refused = await self._limits.new_conversation(self._source, self._origin)
            if refused is not None:
                raise FrameError.limited(refused, client_msg_id)
        self._conversation = await self._identities.begin(self._conversation)
        self._stored = True


def _client_msg_id(raw: str) -> str | None:
    try:
        value = json.loads(raw).get("client_msg_id")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) and len(value) <= MAX_CLIENT_MSG_ID else None


def _parse(raw: str) -> dict[str, Any]:
    if len(raw.encode()) > MAX_FRAME_BYTES:
        raise FrameError("too_large", f"frames are limited to {MAX_FRAME_BYTES} bytes")
    try:
        frame = json.loads(raw)
    except ValueError:
        raise FrameError("bad_json", "the frame is not valid JSON") from None
    if not isinstance(frame, dict):
        raise FrameError("bad_json", "the frame must be a JSON object")
    try:
        # JSON may spell a lone surrogate (\ud800), which no store can encode.
        json.dumps(frame, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        msg_id = frame.get("client_msg_id")
        ok_id = msg_id if isinstance(msg_id, str) and msg_id.isascii() else None
        raise FrameError("bad_frame", "the frame must be valid Unicode text", ok_id) from None
    if frame.get("type") not in ("hello", "identify", "message"):
        raise FrameError("bad_frame", "`type` must be `hello`, `identify` or `message`")
    return frame


def _identity(frame: dict[str, Any]) -> str | None:
    """The signed identity the page passed (docs/widget-protocol.md, Identity), if any."""
    identity = frame.get("identity")
    if identity is None:
        return None
    if not isinstance(identity, str):
        raise FrameError("bad_frame", "`identity` must be a signed token (a string) or null")
    return identity


def _signed_in(conversation: Conversation) -> dict[str, str] | None:
    """Who the widget may greet as signed in (what the page itself told us, nothing more)."""
    customer = conversation.customer
    return None if customer is None else {"name": customer.name, "email": customer.email}


def _slash_payload(payload: str) -> str:
    # Only intent payloads go to the assistant verbatim; anything else is ignored.
    return payload if payload.startswith("/") and len(payload) <= 200 else ""


def _is_stream_id(value: object) -> bool:
    if not isinstance(value, str):
        return False
    ms, _, seq = value.partition("-")
    return ms.isdigit() and (seq == "" or seq.isdigit())
