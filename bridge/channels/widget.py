"""The web widget: its static files and the WebSocket speaking docs/widget-protocol.md."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import replace
from importlib import resources
from typing import Any

from aiohttp import WSMsgType, web

from bridge import keys
from bridge.models import Attachment, Channel, Conversation, Message, Role
from bridge.services import SERVICES, Services

MAX_TEXT_CHARS = 2000
MAX_FRAME_BYTES = 8 * 1024
MAX_CLIENT_MSG_ID = 64
# Far above MAX_FRAME_BYTES, so an oversized frame still reaches us and gets an error frame
# instead of aiohttp closing the connection.
SOCKET_MAX_MSG_SIZE = 1024 * 1024

STATIC = resources.files("bridge") / "static"


class FrameError(Exception):
    def __init__(self, code: str, message: str, client_msg_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.client_msg_id = client_msg_id


def add_routes(app: web.Application) -> None:
    app.router.add_get("/widget", _to_widget_page)
    app.router.add_get("/widget/", _static("index.html", "text/html"))
    app.router.add_get("/widget/widget.js", _static("widget.js", "text/javascript"))
    app.router.add_get("/widget/ws", websocket)
    app.router.add_get("/widget/files/{id}/{name}", attachment)
    app.router.add_route("OPTIONS", "/widget/upload", _upload_preflight)
    app.router.add_post("/widget/upload", upload)


async def _to_widget_page(_: web.Request) -> web.Response:
    raise web.HTTPFound("/widget/")


def _static(name: str, content_type: str) -> Any:
    async def handler(_: web.Request) -> web.Response:
        body = (STATIC / name).read_bytes()
        return web.Response(body=body, content_type=content_type, charset="utf-8")

    return handler


async def attachment(request: web.Request) -> web.Response:
    """A photo or file in a conversation. The id is unguessable and only ever sent to that
    conversation's widget, so the URL itself is the permission (like Slack's file links)."""
    found = await request.app[SERVICES].store.get_file(request.match_info["id"])
    if found is None:
        raise web.HTTPNotFound(text="this file has expired or never existed")
    # Images are shown inline; anything else is downloaded, never rendered as a page.
    inline = found.type.startswith("image/") and found.type != "image/svg+xml"
    headers = {
        "Content-Disposition": "inline" if inline else "attachment",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, max-age=86400",
    }
    content_type = found.type if inline else "application/octet-stream"
    return web.Response(body=found.data, content_type=content_type, headers=headers)


# The widget runs on the customer's site, so uploads are cross-origin. They carry the session
# token as a bearer header, never cookies, so any origin may send them.
_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST",
    "Access-Control-Allow-Headers": "Authorization, Content-Type",
    "Access-Control-Max-Age": "600",
}


async def _upload_preflight(_: web.Request) -> web.Response:
    return web.Response(status=204, headers=_CORS)


async def upload(request: web.Request) -> web.Response:
    """`POST /widget/upload?name=<file name>` with the file as the body → `{"file_id"}`; the
    next `message` frame names it in `file` (docs/widget-protocol.md)."""
    services = request.app[SERVICES]
    token = request.headers.get("Authorization", "").removeprefix("Bearer ")
    conversation_id = services.tokens.verify(token)
    if conversation_id is None:
        return web.json_response({"error": "bad_token"}, status=401, headers=_CORS)
    data = bytearray()
    async for chunk in request.content.iter_chunked(64 * 1024):
        data += chunk
        if len(data) > keys.ATTACHMENT_MAX_BYTES:
            limit = keys.ATTACHMENT_MAX_BYTES // (1024 * 1024)
            return web.json_response(
                {"error": "too_large", "message": f"files are limited to {limit} MB"},
                status=413,
                headers=_CORS,
            )
    if not data:
        return web.json_response({"error": "empty"}, status=400, headers=_CORS)
    name = (request.query.get("name") or "file")[:200]
    kind = request.content_type or "application/octet-stream"
    file_id = await services.store.put_file(
        Attachment(bytes(data), name, kind), owner=conversation_id
    )
    return web.json_response({"file_id": file_id}, headers=_CORS)


async def websocket(request: web.Request) -> web.WebSocketResponse:
    socket = web.WebSocketResponse(heartbeat=30, max_msg_size=SOCKET_MAX_MSG_SIZE)
    await socket.prepare(request)
    session = WidgetSession(request.app[SERVICES], socket)
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

    def __init__(self, services: Services, socket: web.WebSocketResponse) -> None:
        self._services = services
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
            self._services.widget_hub.detach(self._conversation.id, self._socket)

    async def _hello(self, frame: dict[str, Any]) -> None:
        tokens = self._services.tokens
        token = frame.get("token")
        conversation_id = tokens.verify(token) if token is not None else None
        if token is not None and conversation_id is None:
            await self.send_error(FrameError("bad_token", "unknown session; starting a new one"))
        since = frame.get("since")
        if conversation_id is None:
            conversation_id, since = f"w-{uuid.uuid4().hex}", None
        elif since is not None and not _is_stream_id(since):
            raise FrameError("bad_frame", "`since` must be a message id or null")
        self.close()
        self._conversation = await self._services.store.ensure(
            conversation_id, Channel.WIDGET, conversation_id, display_name=""
        )
        # Listen before reading history, so nothing published in between is missed; the
        # client de-duplicates by id.
        self._services.widget_hub.attach(conversation_id, self._socket)
        history = await self._services.store.history(conversation_id, since)
        await self._socket.send_json(
            {
                "type": "welcome",
                "token": tokens.issue(conversation_id),
                "conversation_id": conversation_id,
            }
        )
        await self._socket.send_json(
            {"type": "history", "messages": [m.to_wire() for m in history]}
        )

    async def _message(self, frame: dict[str, Any]) -> None:
        client_msg_id = frame.get("client_msg_id")
        if not isinstance(client_msg_id, str) or not 0 < len(client_msg_id) <= MAX_CLIENT_MSG_ID:
            raise FrameError("bad_frame", "`client_msg_id` must be a string of 1-64 characters")
        text, payload = frame.get("text"), frame.get("payload", "")
        if not isinstance(text, str) or not text.strip() or not isinstance(payload, str):
            raise FrameError("bad_frame", "`text` must be a non-empty string", client_msg_id)
        if len(text) > MAX_TEXT_CHARS:
            raise FrameError(
                "too_large", f"messages are limited to {MAX_TEXT_CHARS} characters", client_msg_id
            )
        if self._conversation is None:
            raise FrameError("bad_frame", "send `hello` first", client_msg_id)
        conversation = self._conversation
        message = Message(role=Role.CUSTOMER, text=text, client_msg_id=client_msg_id)
        file_id = frame.get("file")
        if file_id is not None:
            meta = await self._services.store.file_meta(str(file_id))
            if meta is None or meta["owner"] != conversation.id:
                raise FrameError("bad_frame", "`file` is not a file uploaded here", client_msg_id)
            message = replace(
                message, file_id=str(file_id), file_name=meta["name"], file_type=meta["type"]
            )
        router = self._services.router
        quota = self._services.widget_quota
        limit = quota.in_script("widget", conversation.id) if quota is not None else None
        # The quota is checked in the step that records the message (one round trip, not two).
        inbound = await router.accept(
            conversation, message, "widget", f"{conversation.id}:{client_msg_id}", quota=limit
        )
        if inbound.over_quota and limit is not None:
            raise FrameError(
                "rate_limited",
                f"at most {limit[1]} messages a minute; please wait, then send again",
                client_msg_id,
            )
        await self._socket.send_json(
            {"type": "ack", "client_msg_id": client_msg_id, "id": inbound.message.id}
        )
        # The turn runs beside the socket loop so a slow assistant never stalls the socket; the
        # router keeps turns of one conversation in order.
        turn = asyncio.create_task(router.respond(conversation, inbound, _slash_payload(payload)))
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
