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
from .scopes import FILE_DOWNLOAD_SCOPE, TokenScopes
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
    shared: bool = False  # completed: "This method can only be called once"

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


def _invalid(message: str) -> SlackError:
    """Slack's answer to a missing or malformed argument."""
    return SlackError(
        "invalid_arguments", {"response_metadata": {"messages": [f"[ERROR] {message}"]}}
    )


def get_upload_url(call: Call) -> JSON:
    """`filename` and `length` (bytes, an integer) are required; a length of 0 is Slack's
    `missing_argument` ("Typically only occurs when the length provided is 0")."""
    name = call.text("filename")
    if not name:
        raise _invalid("missing required field: filename")
    raw = call.params.get("length")
    if raw is None or raw == "":
        raise _invalid("missing required field: length")
    try:
        length = int(str(raw))
    except ValueError:
        raise _invalid("must be an integer [json-pointer:/length]") from None
    if length == 0:
        raise SlackError("missing_argument")
    if length < 0:
        raise _invalid("must be a positive integer [json-pointer:/length]")
    file = SlackFile(f"F0{secrets.token_hex(5).upper()}", name, length, call.user.id)
    call.ws.files[file.id] = file
    return {"upload_url": f"{call.base_url}/_upload/{file.id}", "file_id": file.id}


def complete_upload(call: Call) -> JSON:
    """`files`: a JSON array of {"id", "title"?} from getUploadURLExternal whose bytes arrived
    (else file_not_found, docs: "Could not find the file from the upload ticket"), each
    completed once; shared into `channel_id` (channel_not_found, not_in_channel), in the
    thread of `thread_ts` as a post is."""
    items = json_field(call.params.get("files"))
    if not isinstance(items, list) or not items:
        raise _invalid("missing required field: files")
    found: list[tuple[SlackFile, str]] = []
    for n, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise _invalid(f"must provide an object with an id [json-pointer:/files/{n}]")
        title = item.get("title")
        if title is not None and not isinstance(title, str):
            raise _invalid(f"must be a string [json-pointer:/files/{n}/title]")
        file = call.ws.files.get(item["id"])
        if file is None or file.data is None or file.shared:
            raise SlackError("file_not_found")
        if file.user != call.user.id:
            raise SlackError("access_denied")  # "User is not the owner of the file."
        found.append((file, title or file.name))
    channel = None
    if channel_id := call.text("channel_id"):
        channel = call.ws.channel(channel_id)
        if call.user.id not in channel.members:
            raise SlackError("not_in_channel")
    shared = []
    for file, title in found:
        file.title, file.shared = title, True
        shared.append(file.to_json(call.base_url))
    if channel is not None:
        # One message with the files, delivered as an event with chat.postMessage's shape.
        msg = call.ws.post(
            channel, call.user, call.text("initial_comment"), None, call.text("thread_ts") or None
        )
        msg.update(subtype="file_share", files=shared, upload=True)
        call.events.emit(channel.id, message_event(channel, msg))
    return {"files": shared}


def routes(ws: Workspace, scopes: TokenScopes) -> list[web.RouteDef]:
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
        known = ws.identity(token) is not None and scopes.allows(token, FILE_DOWNLOAD_SCOPE)
        if not known or file is None or file.data is None:
            # Slack answers an HTML login page, not an error status, to a missing token (or
            # one without files:read).
            return web.Response(status=200, text="<html>sign in</html>", content_type="text/html")
        return web.Response(body=file.data, content_type=file.mimetype)

    return [web.post("/_upload/{id}", upload), web.get("/_files/{id}/{name}", download)]
