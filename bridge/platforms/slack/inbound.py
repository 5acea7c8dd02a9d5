"""Slack's requests to the bridge (Events API and interactivity), verified and dispatched.

Every request goes through slack-bolt except the commonest one, a plain staff reply in a thread
(`message` event, no subtype, not starting with "!"): that one is the human relay's hot path, and
bolt's dispatch around it cost as much CPU as relaying it (docs/benchmarks.md), so `handle`
verifies its signature (same check, same 401) and calls the reply handler itself. Bolt still
handles everything else, including notes, `!intent`/`!new` mark commands (its middleware sees
them), edits, files, reactions and all of interactivity. A middleware added to bolt that must
see plain thread replies has to be reflected in `_plain_reply`.

Who counts as staff is decided in the handlers themselves (platforms/slack/staff.py), so both
paths check it; when Slack cannot say, the request fails and Slack redelivers it.

In Socket Mode (platforms/slack/socket_mode.py) the same bolt app gets every envelope, and
without a signing secret these routes refuse every request: nothing could prove it Slack's.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bridge.platforms.slack import buttons, events, marks
from bridge.platforms.slack.files import SlackFiles
from bridge.platforms.slack.names import StaffNames
from bridge.platforms.slack.staff import Notices, StaffDirectory, StaffUnknown
from bridge.ports import MarksDoor, StaffDoor

EVENTS_PATH = "/slack/events"
INTERACTIVITY_PATH = "/slack/interactivity"
TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"


class SlackInbound:
    def __init__(
        self,
        client: AsyncWebClient,
        signing_secret: str,
        staff_channel: str,
        desk: StaffDoor,
        staff_marks: MarksDoor,
        files: SlackFiles,
        staff_usergroup: str = "",
    ) -> None:
        # process_before_response: Slack gets its 200 only once the reply is queued in Redis,
        # so a crash before that makes Slack retry instead of losing the reply.
        self.bolt = AsyncApp(
            client=client, signing_secret=signing_secret, process_before_response=True
        )
        self.directory = StaffDirectory(client, staff_usergroup)
        notices = Notices(client)
        names = StaffNames(self.directory)
        self._staff_reply = events.register(
            self.bolt, desk, names, files, staff_channel, self.directory, notices
        )
        buttons.register(self.bolt, desk, names, staff_channel, self.directory, notices)
        marks.register(self.bolt, staff_marks, names, staff_channel, self.directory, notices)
        # None without a signing secret (Socket Mode): an empty secret would sign anyone's.
        self._verifier = SignatureVerifier(signing_secret) if signing_secret else None
        self._staff_channel = staff_channel

    async def handle(self, request: web.Request) -> web.Response:
        if self._verifier is None:
            return web.json_response(
                {"error": "no signing secret: Slack's events come over Socket Mode"}, status=401
            )
        if not _unix_time(request.headers.get(TIMESTAMP_HEADER)):
            # slack_sdk's check would fail on it with a ValueError (a 500); it is not Slack's.
            return web.json_response(
                {"error": f"invalid request: {TIMESTAMP_HEADER} must be a Unix time in seconds"},
                status=401,
            )
        if request.path == EVENTS_PATH:
            fast = await self._fast_reply(request, self._verifier)
            if fast is not None:
                return fast
        try:
            # Bolt reads the body before checking the signature; what it cannot read is not
            # Slack's.
            bolt_request = await to_bolt_request(request)
            if not _well_formed(bolt_request.body):
                raise ValueError("not shaped like a Slack request")
        except Exception:  # malformed JSON, a non-object payload, absurd nesting
            return web.json_response({"error": "the body is not a Slack request"}, status=400)
        bolt_response = await self.bolt.async_dispatch(bolt_request)
        return await to_aiohttp_response(bolt_response)

    async def _fast_reply(
        self, request: web.Request, verifier: SignatureVerifier
    ) -> web.Response | None:
        """Handle a plain staff thread reply without bolt's dispatch; None: leave it to bolt."""
        try:
            raw = await request.read()
            body = json.loads(raw)
        except Exception:  # too large, not JSON (a form, bad UTF-8, absurd nesting): bolt answers
            return None
        if not isinstance(body, dict) or body.get("type") != "event_callback":
            return None
        event = body.get("event")
        if not isinstance(event, dict) or not _plain_reply(event, self._staff_channel):
            return None
        # Bolt's own check (slack_sdk's verifier, 5-minute window) and its answer when it fails.
        timestamp = request.headers.get(TIMESTAMP_HEADER, "0")
        signature = request.headers.get("X-Slack-Signature", "")
        if not verifier.is_valid(raw, timestamp, signature):
            return web.json_response({"error": "invalid request"}, status=401)
        # As with bolt's process_before_response: the 200 goes out once the reply is queued.
        try:
            await self._staff_reply(event, body)
        except StaffUnknown:  # Slack could not say who wrote it: Slack retries later
            return web.json_response({"error": "could not check the author"}, status=503)
        return web.Response(status=200)


def add_routes(app: web.Application, key: web.AppKey[SlackInbound]) -> None:
    """The Events API and button clicks (one bolt app, so one signature check: 401 when it
    fails); the adapter itself is built at start-up and found under `key`."""

    async def handle(request: web.Request) -> web.Response:
        return await request.app[key].handle(request)

    app.router.add_post(EVENTS_PATH, handle)
    app.router.add_post(INTERACTIVITY_PATH, handle)


def _plain_reply(event: dict[str, Any], staff_channel: str) -> bool:
    """A staff reply bolt would hand straight to on_message: no subtype (edits, files go to
    bolt), no "!" command (mark commands are bolt middleware's; notes are rare anyway)."""
    text = event.get("text")
    return (
        event.get("type") == "message"
        and event.get("subtype") is None
        and isinstance(text, str)
        and not text.lstrip().startswith("!")
        and events.is_staff_thread_reply(event, staff_channel)
    )


def _unix_time(value: str | None) -> bool:
    """Absent (the signature check then fails with a 401) or whole seconds, as Slack sends."""
    if value is None:
        return True
    digits = value.strip().removeprefix("-")
    return digits.isascii() and digits.isdigit() and len(digits) <= 12


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
