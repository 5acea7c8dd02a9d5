"""Files the way slack_sdk's `files_upload_v2` uploads them, and the `url_private` downloads.

1. `files.getUploadURLExternal(filename, length)` → `upload_url`, `file_id`;
2. the client POSTs the raw bytes to `upload_url` (here `/_upload/<file_id>`);
3. `files.completeUploadExternal(files, channel_id, thread_ts?, initial_comment?)` shares them:
   one message with `files` (subtype `file_share`), delivered as an event like any post.
"""

from __future__ import annotations

import mimetypes
import secrets
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .._common import json_field
from .calls import Call, message_event
from .state import SlackError, Workspace

JSON = dict[str, Any]


@dataclass
class SlackFile:
    id: str
    name: str
    length: int
    user: str
    data: bytes | None = None
    title: str = ""

    @property
    def mimetype(self) -> str:
        return mimetypes.guess_type(self.name)[0] or "application/octet-stream"

    def to_json(self, base_url: str) -> JSON:
        url = f"{base_url}/_files/{self.id}/{self.name}"
        return {
            "id": self.id,
            "name": self.name,
            "title": self.title or self.name,
            "mimetype": self.mimetype,
            "filetype": self.name.rsplit(".", 1)[-1] if "." in self.name else "binary",
            "size": len(self.data or b""),
            "user": self.user,
            "url_private": url,
            "url_private_download": url,
            "mode": "hosted",
            "is_external": False,
        }


def get_upload_url(call: Call) -> JSON:
    name = call.text("filename")
    try:
        length = int(call.params.get("length") or 0)
    except ValueError:
        raise SlackError("invalid_arguments") from None
    if not name or length <= 0:
        raise SlackError("invalid_arguments")
    file = SlackFile(f"F0{secrets.token_hex(5).upper()}", name, length, call.user.id)
    call.ws.files[file.id] = file
    return {"upload_url": f"{call.base_url}/_upload/{file.id}", "file_id": file.id}


def complete_upload(call: Call) -> JSON:
    # Each shared file posts a message with the same event shape as chat.postMessage.
    items = json_field(call.params.get("files"))
    if not isinstance(items, list) or not items:
        raise SlackError("invalid_arguments")
    shared = []
    for item in items:
        file = call.ws.files.get(str(item.get("id")) if isinstance(item, dict) else "")
        if file is None or file.data is None or file.user != call.user.id:
            raise SlackError("file_not_found")
        file.title = str(item.get("title") or file.name)
        shared.append(file.to_json(call.base_url))
    channel_id = call.text("channel_id")
    if channel_id:
        channel = call.ws.channel(channel_id)
        msg = call.ws.post(
            channel, call.user, call.text("initial_comment"), None, call.text("thread_ts") or None
        )
        msg.update(subtype="file_share", files=shared, upload=True)
        call.events.emit(channel.id, message_event(channel, msg))
    return {"files": shared}


def routes(ws: Workspace) -> list[web.RouteDef]:
    async def upload(request: web.Request) -> web.Response:
        file = ws.files.get(request.match_info["id"])
        if file is None or file.data is not None:
            return web.Response(status=404, text="unknown or used upload URL")
        data = await request.read()
        if len(data) != file.length:
            return web.Response(status=400, text=f"expected {file.length} bytes, got {len(data)}")
        file.data = data
        return web.Response(text=f"OK - {len(data)}")

    async def download(request: web.Request) -> web.Response:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        file = ws.files.get(request.match_info["id"])
        if ws.identity(token) is None or file is None or file.data is None:
            # Slack answers an HTML login page, not an error status, to a missing token.
            return web.Response(status=200, text="<html>sign in</html>", content_type="text/html")
        return web.Response(body=file.data, content_type=file.mimetype)

    return [web.post("/_upload/{id}", upload), web.get("/_files/{id}/{name}", download)]
