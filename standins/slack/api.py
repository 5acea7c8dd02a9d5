"""Web API methods under /api/: the subset the bridge uses, answering with Slack's shapes and
refusing what Slack refuses: calls without their scope (scopes.py), malformed payloads
(validation.py)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .._common import Faults, Interval, read_params
from . import files, validation
from .calls import Call, message_event
from .events import EventDispatcher
from .hangs import Hangs
from .scopes import TokenScopes
from .state import (
    TEAM_ID,
    TEAM_NAME,
    TEAM_URL,
    Channel,
    SlackError,
    Workspace,
)

JSON = dict[str, Any]


def auth_test(call: Call) -> JSON:
    result: JSON = {
        "url": TEAM_URL,
        "team": TEAM_NAME,
        "user": call.user.name,
        "team_id": TEAM_ID,
        "user_id": call.user.id,
        "is_enterprise_install": False,
    }
    if call.user.is_bot:
        result["bot_id"] = call.user.bot_id
    return result


def _message_body(call: Call, channel: Channel) -> tuple[str, list[JSON] | None]:
    """The text and blocks of a new message, checked as Slack checks them (validation.py)."""
    if call.user.id not in channel.members:
        raise SlackError("not_in_channel")
    blocks = validation.blocks(call.params.get("blocks"))
    return validation.message_text(call.params, blocks), blocks


def chat_post_message(call: Call) -> JSON:
    channel = call.channel()
    text, blocks = _message_body(call, channel)
    metadata, warnings = validation.metadata(call.params.get("metadata"))
    # A reply's ts threads under its parent; a ts that is no message's is kept, shown nowhere
    # (Workspace.post), as Slack does.
    thread_ts = call.text("thread_ts") or None
    msg = call.ws.post(channel, call.user, text, blocks, thread_ts)
    if metadata is not None:
        msg["metadata"] = metadata
    call.events.emit(channel.id, message_event(channel, msg))
    result = {"channel": channel.id, "ts": msg["ts"], "message": msg}
    return validation.with_warnings(result, warnings)


def chat_post_ephemeral(call: Call) -> JSON:
    """A message only `user` sees, in the channel (or a thread of it); no event, no history."""
    channel = call.channel()
    text, blocks = _message_body(call, channel)
    recipient = call.ws.users.get(call.text("user"))
    if recipient is None or recipient.deleted or recipient.id not in channel.members:
        raise SlackError("user_not_in_channel")
    thread_ts = call.text("thread_ts") or None
    if thread_ts is not None:  # into the parent's thread, as a post (or kept, shown nowhere)
        thread_ts = channel.parent_ts(thread_ts) or thread_ts
    ts = call.ws.clock.next_ts()
    message: JSON = {"type": "message", "user": call.user.id, "text": text, "ts": ts}
    if call.user.is_bot:
        message["bot_id"] = call.user.bot_id
    if blocks:
        message["blocks"] = blocks
    if thread_ts is not None:
        message["thread_ts"] = thread_ts
    call.ws.ephemeral.append({"channel": channel.id, "to": recipient.id, **message})
    return {"message_ts": ts}


def _own_message(call: Call, error: str) -> tuple[Channel, JSON]:
    channel = call.channel()
    msg = channel.message(call.text("ts"))
    if msg.get("user") != call.user.id:
        raise SlackError(error)
    return channel, msg


def chat_update(call: Call) -> JSON:
    channel, msg = _own_message(call, "cant_update_message")
    blocks = validation.blocks(call.params.get("blocks"))
    text = validation.message_text(call.params, blocks)
    metadata, warnings = validation.metadata(call.params.get("metadata"))
    previous = dict(msg)
    if "text" in call.params:
        msg["text"] = text
    if blocks is not None:
        msg["blocks"] = blocks
    if metadata is not None:
        msg["metadata"] = metadata
    msg["edited"] = {"user": call.user.id, "ts": call.ws.clock.next_ts()}
    call.events.emit(
        channel.id,
        {
            "type": "message",
            "subtype": "message_changed",
            "hidden": True,
            "channel": channel.id,
            "ts": msg["edited"]["ts"],
            "event_ts": msg["edited"]["ts"],
            "message": msg,
            "previous_message": previous,
            "channel_type": "channel",
        },
    )
    result = {"channel": channel.id, "ts": msg["ts"], "text": msg["text"], "message": msg}
    return validation.with_warnings(result, warnings)


def chat_delete(call: Call) -> JSON:
    channel, msg = _own_message(call, "cant_delete_message")
    call.ws.delete(channel, msg["ts"])
    event_ts = call.ws.clock.next_ts()
    call.events.emit(
        channel.id,
        {
            "type": "message",
            "subtype": "message_deleted",
            "hidden": True,
            "channel": channel.id,
            "ts": event_ts,
            "deleted_ts": msg["ts"],
            "event_ts": event_ts,
            "previous_message": msg,
            "channel_type": "channel",
        },
    )
    return {"channel": channel.id, "ts": msg["ts"]}


def chat_get_permalink(call: Call) -> JSON:
    channel = call.channel()
    msg = channel.message(call.text("message_ts"))
    link = f"{TEAM_URL}archives/{channel.id}/p{msg['ts'].replace('.', '')}"
    if msg.get("thread_ts") not in (None, msg["ts"]):
        link += f"?thread_ts={msg['thread_ts']}&cid={channel.id}"
    return {"channel": channel.id, "permalink": link}


def _page(call: Call, messages: list[JSON], default_limit: int) -> JSON:
    """One page of `messages` after `oldest`/`latest` (`inclusive`); message metadata only
    with `include_all_metadata`, as in Slack."""
    inclusive = call.flag("inclusive")
    if oldest := call.text("oldest"):
        messages = [m for m in messages if _after(m["ts"], oldest, inclusive)]
    if latest := call.text("latest"):
        messages = [m for m in messages if _after(latest, m["ts"], inclusive)]
    if not call.flag("include_all_metadata"):
        messages = [{k: v for k, v in m.items() if k != "metadata"} for m in messages]
    limit = int(call.params.get("limit") or default_limit)
    start = int(call.params.get("cursor") or 0)
    page = messages[start : start + limit]
    more = start + limit < len(messages)
    return {
        "messages": page,
        "has_more": more,
        "response_metadata": {"next_cursor": str(start + limit) if more else ""},
    }


def conversations_history(call: Call) -> JSON:
    channel = call.channel()
    messages = list(reversed(channel.top_level))
    return {**_page(call, messages, 100), "pin_count": 0}


def _after(a: str, b: str, inclusive: bool) -> bool:
    return float(a) >= float(b) if inclusive else float(a) > float(b)


def conversations_replies(call: Call) -> JSON:
    channel = call.channel()
    return _page(call, channel.thread(call.text("ts")), 1000)


def conversations_info(call: Call) -> JSON:
    return {"channel": call.channel().to_json()}


def conversations_list(call: Call) -> JSON:
    types = {t.strip() for t in (call.text("types") or "public_channel").split(",")}
    channels = [
        c.to_json()
        for c in call.ws.channels.values()
        if ("private_channel" if c.is_private else "public_channel") in types
    ]
    return {"channels": channels, "response_metadata": {"next_cursor": ""}}


def conversations_create(call: Call) -> JSON:
    channel = call.ws.create_channel(call.text("name"), call.flag("is_private"))
    return {"channel": channel.to_json()}


def users_info(call: Call) -> JSON:
    user = call.ws.users.get(call.text("user"))
    if user is None:
        raise SlackError("user_not_found")
    return {"user": user.to_json()}


def usergroups_users_list(call: Call) -> JSON:
    group = call.text("usergroup")
    if not group:
        raise SlackError("invalid_arguments")
    members = call.ws.usergroups.get(group)
    if members is None:
        raise SlackError("no_such_subteam")
    return {"users": list(members)}


def _reaction_target(call: Call) -> tuple[Channel, JSON, str]:
    channel = call.channel()
    msg = channel.message(call.text("timestamp"))
    return channel, msg, validation.reaction_name(call.params.get("name"))


def _reaction_event(call: Call, kind: str, channel: Channel, msg: JSON, name: str) -> None:
    call.events.emit(
        channel.id,
        {
            "type": kind,
            "user": call.user.id,
            "reaction": name,
            "item_user": msg.get("user"),
            "item": {"type": "message", "channel": channel.id, "ts": msg["ts"]},
            "event_ts": call.ws.clock.next_ts(),
        },
    )


def reactions_add(call: Call) -> JSON:
    channel, msg, name = _reaction_target(call)
    reactions: list[JSON] = msg.setdefault("reactions", [])
    entry = next((r for r in reactions if r["name"] == name), None)
    if entry is None:
        entry = {"name": name, "users": [], "count": 0}
        reactions.append(entry)
    if call.user.id in entry["users"]:
        raise SlackError("already_reacted")
    entry["users"].append(call.user.id)
    entry["count"] = len(entry["users"])
    _reaction_event(call, "reaction_added", channel, msg, name)
    return {}


def reactions_remove(call: Call) -> JSON:
    channel, msg, name = _reaction_target(call)
    reactions: list[JSON] = msg.get("reactions", [])
    entry = next((r for r in reactions if r["name"] == name), None)
    if entry is None or call.user.id not in entry["users"]:
        raise SlackError("no_reaction")
    entry["users"].remove(call.user.id)
    entry["count"] = len(entry["users"])
    if not entry["users"]:
        reactions.remove(entry)
    if not reactions:
        msg.pop("reactions", None)
    _reaction_event(call, "reaction_removed", channel, msg, name)
    return {}


METHODS: dict[str, Callable[[Call], JSON]] = {
    "auth.test": auth_test,
    "chat.postMessage": chat_post_message,
    "chat.postEphemeral": chat_post_ephemeral,
    "chat.update": chat_update,
    "chat.delete": chat_delete,
    "chat.getPermalink": chat_get_permalink,
    "files.getUploadURLExternal": files.get_upload_url,
    "files.completeUploadExternal": files.complete_upload,
    "conversations.history": conversations_history,
    "conversations.replies": conversations_replies,
    "conversations.info": conversations_info,
    "conversations.list": conversations_list,
    "conversations.create": conversations_create,
    "users.info": users_info,
    "usergroups.users.list": usergroups_users_list,
    "reactions.add": reactions_add,
    "reactions.remove": reactions_remove,
}


def _error(
    code: str,
    status: int = 200,
    headers: dict[str, str] | None = None,
    extra: JSON | None = None,
) -> web.Response:
    body = {"ok": False, "error": code, **(extra or {})}
    return web.json_response(body, status=status, headers=headers)


def _token(request: web.Request, params: JSON) -> str | None:
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        return auth.removeprefix("Bearer ").strip()
    token = params.get("token")
    return str(token) if token else None


@dataclass
class WebApi:
    ws: Workspace
    events: EventDispatcher
    faults: Faults
    # None when rate limiting is off; else chat.postMessage at most once a second per channel.
    post_limit: Interval | None
    hangs: Hangs
    # Which scopes each token has (the bridge's bot token: the manifest's).
    scopes: TokenScopes
    # How many times each method was called, for GET /_test/calls.
    calls: Counter[str] = field(default_factory=Counter)

    async def handle(self, request: web.Request) -> web.Response:
        name = request.match_info["method"]
        method = METHODS.get(name)
        if method is None:
            return _error("unknown_method")
        self.calls[name] += 1
        params, _files = await read_params(request)
        token = _token(request, params)
        if not token:
            return _error("not_authed")
        user = self.ws.identity(token)
        if user is None:
            return _error("invalid_auth")
        fault = self.faults.take(name)
        if fault is not None:
            if fault.status == 429:
                return self._ratelimited(fault.retry_after)
            return _error(
                "fatal_error" if fault.status >= 500 else "request_failed", status=fault.status
            )
        hang = self.hangs.take(name, params)
        if hang is not None and hang.when == "before":
            await self.hangs.hold(hang)  # the client has given up: nothing is carried out
            return _error("request_timeout", status=504)
        call = Call(self.ws, self.events, user, params, str(request.url.origin()))
        try:
            self.scopes.check(token, name, call)
            if name == "chat.postMessage" and self.post_limit is not None:
                wait = self.post_limit.wait_for(call.channel().id, time.monotonic())
                if wait:
                    return self._ratelimited(wait)
            result = method(call)
        except SlackError as exc:
            return _error(exc.code, extra=exc.extra)
        if hang is not None:  # carried out; the answer comes too late for the client
            await self.hangs.hold(hang)
        # As Slack does, every answer names the token's scopes (make check-deployment reads it).
        granted = self.scopes.of(token)
        headers = {"X-OAuth-Scopes": ",".join(granted)} if granted is not None else None
        return web.json_response({"ok": True, **result}, headers=headers)

    @staticmethod
    def _ratelimited(retry_after: int) -> web.Response:
        return _error("ratelimited", status=429, headers={"Retry-After": str(retry_after)})
