"""Slack Events API and interactivity: staff replies in a handoff thread go back to the customer;
the card's buttons are handled in `slack_actions`.

Every request goes through slack-bolt except the commonest one, a plain staff reply in a thread
(`message` event, no subtype, not starting with "!"): that one is the human relay's hot path, and
bolt's dispatch around it cost as much CPU as relaying it (docs/benchmarks.md), so `events`
verifies its signature (same check, same 401) and calls the reply handler itself. Bolt still
handles everything else, including notes, `!intent`/`!new` mark commands (its middleware sees
them), edits, files, reactions and all of interactivity. A middleware added to bolt that must
see plain thread replies has to be reflected in `_fast_reply`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bridge.channels import slack_actions, slack_marks
from bridge.channels.slack_files import SlackFiles
from bridge.router import StaffPost
from bridge.services import Services

log = logging.getLogger(__name__)

BOLT_APP = web.AppKey("bolt_app", AsyncApp)

StaffReply = Callable[[dict[str, Any], dict[str, Any]], Awaitable[None]]


class BridgeBolt(AsyncApp):
    """The bolt app, plus what the staff-reply fast path needs: the signature check and the
    reply handler bolt itself would call (set by build_bolt_app)."""

    verifier: SignatureVerifier
    staff_channel: str
    staff_reply: StaffReply


def add_routes(app: web.Application) -> None:
    app.router.add_post("/slack/events", events)
    # Button clicks: the same bolt app, so the same signature check (401 when it fails).
    app.router.add_post("/slack/interactivity", events)


async def events(request: web.Request) -> web.Response:
    bolt = request.app[BOLT_APP]
    if isinstance(bolt, BridgeBolt) and request.path == "/slack/events":
        fast = await _fast_reply(request, bolt)
        if fast is not None:
            return fast
    try:
        # Bolt reads the body before checking the signature; what it cannot read is not Slack's.
        bolt_request = await to_bolt_request(request)
        if not _well_formed(bolt_request.body):
            raise ValueError("not shaped like a Slack request")
    except Exception:  # malformed JSON, a non-object payload, absurd nesting
        return web.json_response({"error": "the body is not a Slack request"}, status=400)
    bolt_response = await request.app[BOLT_APP].async_dispatch(bolt_request)
    return await to_aiohttp_response(bolt_response)


async def _fast_reply(request: web.Request, bolt: BridgeBolt) -> web.Response | None:
    """Handle a plain staff thread reply without bolt's dispatch; None: leave it to bolt."""
    try:
        raw = await request.read()
        body = json.loads(raw)
    except Exception:  # too large, not JSON (a form, bad UTF-8, absurd nesting): bolt answers
        return None
    if not isinstance(body, dict) or body.get("type") != "event_callback":
        return None
    event = body.get("event")
    if not isinstance(event, dict) or not _plain_reply(event, bolt.staff_channel):
        return None
    # Bolt's own check (slack_sdk's verifier, 5-minute window) and its answer when it fails.
    timestamp = request.headers.get("X-Slack-Request-Timestamp", "0")
    signature = request.headers.get("X-Slack-Signature", "")
    if not bolt.verifier.is_valid(raw, timestamp, signature):
        return web.json_response({"error": "invalid request"}, status=401)
    # As with bolt's process_before_response: the 200 goes out once the reply is queued.
    await bolt.staff_reply(event, body)
    return web.Response(status=200)


def _plain_reply(event: dict[str, Any], staff_channel: str) -> bool:
    """A staff reply bolt would hand straight to on_message: no subtype (edits, files go to
    bolt), no "!" command (mark commands are bolt middleware's; notes are rare anyway)."""
    text = event.get("text")
    return (
        event.get("type") == "message"
        and event.get("subtype") is None
        and isinstance(text, str)
        and not text.lstrip().startswith("!")
        and _is_staff_thread_reply(event, staff_channel)
    )


def _well_formed(body: object) -> bool:
    """The shape bolt's own helpers take for granted (they fail with a 500 otherwise)."""
    if not isinstance(body, dict):
        return False
    kind = body.get("type")
    if kind == "block_actions":
        actions = body.get("actions")
        return (
            isinstance(actions, list)
            and bool(actions)
            and all(isinstance(a, dict) and isinstance(a.get("action_id"), str) for a in actions)
        )
    if kind == "event_callback":
        return isinstance(body.get("event"), dict)
    return True


def build_bolt_app(services: Services, client: AsyncWebClient) -> AsyncApp:
    settings = services.settings
    # process_before_response: Slack gets its 200 only once the reply is queued in Redis, so a
    # crash before that makes Slack retry instead of losing the reply.
    bolt = BridgeBolt(
        client=client,
        signing_secret=settings.slack_signing_secret,
        process_before_response=True,
    )
    names = StaffNames(client)
    files = SlackFiles(settings.slack_bot_token, settings.slack_api_url)

    @bolt.event("message")
    async def on_message(event: dict[str, Any], body: dict[str, Any]) -> None:
        event_id = str(body.get("event_id") or event.get("event_ts") or event.get("ts"))
        if event.get("subtype") in ("message_changed", "message_deleted"):
            await _on_revision(event, event_id)
            return
        if not _is_staff_thread_reply(event, settings.slack_channel_id):
            return
        await staff_reply(event, body)

    async def staff_reply(event: dict[str, Any], body: dict[str, Any]) -> None:
        """A staff member's reply in a thread (checked by _is_staff_thread_reply)."""
        author = await names.display_name(event.get("user", ""))
        attachments = await files.fetch(event.get("files") or [])
        await services.router.staff_post(
            StaffPost(
                channel=event["channel"],
                ts=event["ts"],
                thread_ts=event["thread_ts"],
                raw_text=event.get("text", ""),
                user_id=event.get("user", ""),
                author=author,
                event_id=str(body.get("event_id") or event["ts"]),
                attachments=tuple(attachments),
            )
        )

    async def _on_revision(event: dict[str, Any], event_id: str) -> None:
        """A staff member edited or deleted one of their thread replies."""
        deleted = event.get("subtype") == "message_deleted"
        message = dict(event.get("previous_message" if deleted else "message") or {})
        message["channel"] = event.get("channel")
        if not _is_staff_thread_reply(message, settings.slack_channel_id):
            return  # our own card updates, other apps, top-level posts
        text = None if deleted else str(message.get("text", ""))
        if text is not None and text == (event.get("previous_message") or {}).get("text"):
            return  # an unfurl or other change that left the words alone
        author = await names.display_name(str(message.get("user", "")))
        await services.router.staff_revision(
            message["channel"], str(message["ts"]), text, author, event_id
        )

    @bolt.event("reaction_added")
    @bolt.event("reaction_removed")
    async def on_reaction(event: dict[str, Any]) -> None:
        """Our own receipts come back as events; acknowledging them stops Slack's retries."""

    slack_actions.register(bolt, services, names)
    slack_marks.register(bolt, services)
    bolt.verifier = SignatureVerifier(settings.slack_signing_secret)
    bolt.staff_channel = settings.slack_channel_id
    bolt.staff_reply = staff_reply
    return bolt


def _is_staff_thread_reply(event: dict[str, Any], staff_channel: str) -> bool:
    # Edits, joins and bot posts (ours and other apps') carry a subtype or a bot_id; a person
    # attaching a file is a reply too.
    return (
        event.get("channel") == staff_channel
        and event.get("subtype") in (None, "file_share")
        and not event.get("bot_id")
        and bool(event.get("user"))
        and bool(event.get("thread_ts"))
        and event.get("thread_ts") != event.get("ts")
    )


class StaffNames:
    """Display names of staff members, looked up once each."""

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client
        self._names: dict[str, str] = {}

    async def display_name(self, user_id: str) -> str:
        if user_id not in self._names:
            try:
                response = await self._client.users_info(user=user_id)
                user = response.get("user") or {}
                profile = user.get("profile") or {}
                name = profile.get("display_name") or profile.get("real_name") or user.get("name")
            except Exception as exc:  # a missing name must never block the reply itself
                log.warning("users.info failed for %s: %s", user_id, exc)
                return ""
            self._names[user_id] = str(name or "")
        return self._names[user_id]
