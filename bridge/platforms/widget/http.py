"""The widget's HTTP side: its static files, the upload endpoint and file downloads."""

from __future__ import annotations

from importlib import resources
from typing import Any

from aiohttp import web
from redis.exceptions import RedisError

from bridge import keys
from bridge.limits import AbuseLimits, Refusal
from bridge.models import Attachment
from bridge.platforms.widget.clients import Client
from bridge.platforms.widget.sessions import SessionTokens
from bridge.ports import CustomerDoor
from bridge.store.files import FilesFull
from bridge.texts import customers as texts

STATIC = resources.files("bridge.platforms.widget") / "static"

# Shown in the page; anything else is a download. An allow-list: a type we do not know (say
# image/svg+xml, which runs scripts, or a made-up image/svg+xml+x) is never rendered.
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})

# The widget runs on the customer's site, so uploads are cross-origin. They carry the session
# token as a bearer header, never cookies, so any origin may send them.
_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST",
    "Access-Control-Allow-Headers": "Authorization, Content-Type",
    "Access-Control-Max-Age": "600",
}


async def to_widget_page(_: web.Request) -> web.Response:
    raise web.HTTPFound("/widget/")


def static(name: str, content_type: str) -> Any:
    async def handler(_: web.Request) -> web.Response:
        body = (STATIC / name).read_bytes()
        return web.Response(body=body, content_type=content_type, charset="utf-8")

    return handler


async def attachment(request: web.Request, door: CustomerDoor) -> web.Response:
    """A photo or file in a conversation. The id is unguessable and only ever sent to that
    conversation's widget, so the URL itself is the permission (like Slack's file links)."""
    found = await door.get_file(request.match_info["id"])
    if found is None:
        raise web.HTTPNotFound(text="this file has expired or never existed")
    # Photos are shown inline; anything else is downloaded, never rendered as a page.
    inline = found.type.lower() in INLINE_TYPES
    headers = {
        "Content-Disposition": "inline" if inline else "attachment",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, max-age=86400",
    }
    content_type = found.type if inline else "application/octet-stream"
    return web.Response(body=found.data, content_type=content_type, headers=headers)


async def upload_preflight(_: web.Request) -> web.Response:
    return web.Response(status=204, headers=_CORS)


async def upload(
    request: web.Request,
    door: CustomerDoor,
    sessions: SessionTokens,
    client: Client,
    limits: AbuseLimits | None = None,
) -> web.Response:
    """`POST /widget/upload?name=<file name>` with the file as the body → `{"file_id"}`; the
    next `message` frame names it in `file` (docs/widget-protocol.md)."""
    try:
        return await _upload(request, door, sessions, client, limits)
    except RedisError:
        return _error(503, "unavailable", texts.UNAVAILABLE, retry_after_s=30)


async def _upload(
    request: web.Request,
    door: CustomerDoor,
    sessions: SessionTokens,
    client: Client,
    limits: AbuseLimits | None,
) -> web.Response:
    token = request.headers.get("Authorization", "").removeprefix("Bearer ")
    conversation_id = await sessions.verify(token)
    if conversation_id is None:
        return web.json_response({"error": "bad_token"}, status=401, headers=_CORS)
    declared = request.content_length
    if limits is not None and declared is not None and declared <= keys.ATTACHMENT_MAX_BYTES:
        # Counted before the body is read: a refused upload costs no more than its headers.
        refused = await limits.upload(client.source, conversation_id, declared)
        if refused is not None:
            return limited(refused)
    data = bytearray()
    async for chunk in request.content.iter_chunked(64 * 1024):
        data += chunk
        if len(data) > keys.ATTACHMENT_MAX_BYTES:
            limit = keys.ATTACHMENT_MAX_BYTES // (1024 * 1024)
            return web.json_response(
                {"error": "too_large", "message": texts.file_too_large(limit)},
                status=413,
                headers=_CORS,
            )
    if not data:
        return web.json_response({"error": "empty"}, status=400, headers=_CORS)
    if limits is not None and declared is None:  # sent in chunks: counted once read
        refused = await limits.upload(client.source, conversation_id, len(data))
        if refused is not None:
            return limited(refused)
    name = (request.query.get("name") or "file")[:200]
    kind = request.content_type or "application/octet-stream"
    try:
        file_id = await door.put_file(Attachment(bytes(data), name, kind), owner=conversation_id)
    except FilesFull:
        return _error(507, "storage_full", texts.FILES_FULL, retry_after_s=600)
    return web.json_response({"file_id": file_id}, headers=_CORS)


def limited(refusal: Refusal) -> web.Response:
    """HTTP 429 for a request an abuse limit refused (an upload, a widget connection)."""
    return _error(429, "rate_limited", texts.limited(refusal.retry_after_s), refusal.retry_after_s)


def _error(
    status: int, code: str, message: str, retry_after_s: float | None = None
) -> web.Response:
    headers = dict(_CORS)
    body: dict[str, object] = {"error": code, "message": message}
    if retry_after_s is not None:
        headers["Retry-After"] = str(max(1, round(retry_after_s)))
        body["retry_after"] = round(retry_after_s, 1)
    return web.json_response(body, status=status, headers=headers)
