"""Button clicks: a signed `block_actions` payload, and the `response_url` it carries."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from .events import Transport, signed_headers
from .state import APP_ID, TEAM_DOMAIN, TEAM_ID, SlackError, Workspace

JSON = dict[str, Any]


@dataclass
class Interactivity:
    ws: Workspace
    url: str | None
    signing_secret: str
    session: aiohttp.ClientSession | None = None
    # response_url id -> (channel id, message ts)
    responses: dict[str, tuple[str, str]] = field(default_factory=dict)
    # When set (Socket Mode on), clicks go over the app's WebSocket and `url` is unused.
    socket: Transport | None = None

    async def interact(self, request: web.Request) -> web.Response:
        """`POST /_test/interact {"user", "action_id", "value", "channel", "message_ts"}`.

        Answers `{"status": <receiver's HTTP status>, "body": <its body>}` once the receiver
        has answered, so a test knows the click was handled.
        """
        if self.socket is None and (self.url is None or self.session is None):
            return web.json_response({"error": "no interactivity URL configured"}, status=409)
        body = await request.json()
        user = self.ws.users.get(str(body.get("user")))
        try:
            channel = self.ws.channel(body.get("channel"))
            message = channel.message(str(body.get("message_ts")))
        except SlackError as exc:
            return web.json_response({"error": exc.code}, status=404)
        if user is None:
            return web.json_response({"error": "user_not_found"}, status=404)
        if user.deleted or user.id not in channel.members:  # they cannot see the button
            return web.json_response({"error": "user_not_in_channel"}, status=404)
        response_id = secrets.token_hex(8)
        self.responses[response_id] = (channel.id, message["ts"])
        action_ts = f"{time.time():.6f}"
        payload: JSON = {
            "type": "block_actions",
            "user": {
                "id": user.id,
                "username": user.name,
                "name": user.name,
                "team_id": user.team_id,
            },
            "api_app_id": APP_ID,
            "token": "local-verification-token",
            "container": {
                "type": "message",
                "message_ts": message["ts"],
                "channel_id": channel.id,
                "is_ephemeral": False,
            },
            "trigger_id": f"{int(time.time())}.{secrets.randbelow(10**9)}",
            "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel.id, "name": channel.name},
            "message": message,
            "state": {"values": {}},
            "response_url": str(
                request.url.with_path(f"/_test/response/{response_id}").with_query(None)
            ),
            "actions": [
                {
                    "type": "button",
                    "action_id": str(body.get("action_id", "")),
                    "block_id": str(body.get("block_id", "")),
                    "value": str(body.get("value", "")),
                    "text": {
                        "type": "plain_text",
                        "text": str(body.get("text", "")),
                        "emoji": True,
                    },
                    "action_ts": action_ts,
                }
            ],
        }
        if self.socket is not None:  # answered once acknowledged, like the HTTP answer
            return web.json_response(await self.socket.send_once("interactive", payload, 10.0))
        assert self.url is not None and self.session is not None
        form = urlencode({"payload": json.dumps(payload)}).encode()
        headers = signed_headers(self.signing_secret, form, "application/x-www-form-urlencoded")
        try:
            async with self.session.post(self.url, data=form, headers=headers) as resp:
                return web.json_response({"status": resp.status, "body": await resp.text()})
        except aiohttp.ClientError as exc:
            return web.json_response({"error": repr(exc)}, status=502)

    async def respond(self, request: web.Request) -> web.Response:
        """A `response_url`: `replace_original` edits the clicked message, `delete_original`
        removes it; anything else is acknowledged (ephemeral replies are not modelled)."""
        target = self.responses.get(request.match_info["id"])
        if target is None:
            return web.json_response({"ok": False, "error": "expired_url"}, status=404)
        body = await request.json()
        channel = self.ws.channels[target[0]]
        try:
            message = channel.message(target[1])
        except SlackError as exc:
            return web.json_response({"ok": False, "error": exc.code}, status=404)
        if body.get("delete_original"):
            self.ws.delete(channel, message["ts"])
        elif body.get("replace_original"):
            message["text"] = str(body.get("text", message.get("text", "")))
            if "blocks" in body:
                message["blocks"] = body["blocks"]
        return web.json_response({"ok": True})
