"""The staff page: a person acts as staff in `make run` without a Slack workspace."""

from __future__ import annotations

from importlib import resources
from typing import Any

from aiohttp import web

from .state import SlackError, Workspace


def page_html() -> str:
    return resources.files("standins").joinpath("static/slack_staff.html").read_text("utf-8")


def routes(ws: Workspace, staff_channel: str) -> list[web.RouteDef]:
    html = page_html()  # read once: the file ships with the package

    async def index(_request: web.Request) -> web.Response:
        return web.Response(text=html, content_type="text/html")

    async def threads(request: web.Request) -> web.Response:
        """`GET /_test/threads?channel=C…` → the channel's threads, newest activity first."""
        try:
            channel = ws.channel(request.query.get("channel") or staff_channel)
        except SlackError as exc:
            return web.json_response({"error": exc.code}, status=404)
        items: list[dict[str, Any]] = [
            {"parent": msg, "replies": channel.replies.get(msg["ts"], [])}
            for msg in channel.top_level
        ]
        items.sort(
            key=lambda t: float(t["parent"].get("latest_reply", t["parent"]["ts"])), reverse=True
        )
        # Everyone a person at the keyboard can act as: staff, and those who are not (a guest,
        # a member of the organisation the channel is shared with), labelled as such.
        staff = [
            {"id": u.id, "name": f"{u.real_name} ({u.kind})" if u.kind else u.real_name}
            for u in ws.users.values()
            if not u.is_bot
        ]
        return web.json_response(
            {
                "channel": {"id": channel.id, "name": channel.name},
                "staff": staff,
                "users": {u.id: u.real_name for u in ws.users.values()},
                # For `<#C…>` mentions; each message carries its `reactions` as in Slack.
                "channels": {c.id: c.name for c in ws.channels.values()},
                "threads": items,
            }
        )

    async def ephemeral(request: web.Request) -> web.Response:
        """`GET /_test/ephemeral?user=U…[&channel=C…]` → the ephemeral messages that user was
        shown (chat.postEphemeral), oldest first."""
        user = request.query.get("user")
        if not user:
            return web.json_response({"error": "expected ?user=<user id>"}, status=400)
        channel = request.query.get("channel")
        shown = [
            {k: v for k, v in m.items() if k != "to"}
            for m in ws.ephemeral
            if m["to"] == user and channel in (None, m["channel"])
        ]
        return web.json_response({"messages": shown})

    return [
        web.get("/", index),
        web.get("/_test/threads", threads),
        web.get("/_test/ephemeral", ephemeral),
    ]
