"""Staff marks from Slack (docs/learning.md): a 🤖 or 🆕 reaction on a customer message in a
handoff thread, and `!intent <name>` / `!new <label>` thread replies, which stay in Slack.

Runs as a bolt middleware so it sees these events before the thread-reply listener (bolt runs
only the first listener that matches): a mark command must never be relayed to the customer.
Only staff mark (platforms/slack/staff.py): anyone else's command is dropped (they are told) and
their reactions are not marks.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse

from bridge.learning.marks import MarkKind, is_command
from bridge.models import StaffMessageRef
from bridge.platforms.slack.mrkdwn import customer_words
from bridge.platforms.slack.names import StaffNames
from bridge.platforms.slack.staff import Notices, StaffDirectory
from bridge.ports import MarksDoor
from bridge.texts import staff as texts

log = logging.getLogger(__name__)

# The reactions that are marks.
MARK_REACTIONS = {"robot_face": MarkKind.SHOULD_HANDLE, "new": MarkKind.NEW_TOPIC}


def register(
    bolt: AsyncApp,
    marks: MarksDoor,
    names: StaffNames,
    staff_channel: str,
    directory: StaffDirectory,
    notices: Notices,
) -> None:
    client = bolt.client

    @bolt.middleware
    async def staff_marks(
        body: dict[str, Any], next: Callable[[], Awaitable[None]]
    ) -> BoltResponse | None:
        event = body.get("event") if body.get("type") == "event_callback" else None
        if isinstance(event, dict) and _is_mark_command(event, staff_channel):
            user = str(event.get("user") or "")
            ref = StaffMessageRef(event["channel"], str(event["ts"]), str(event["thread_ts"]))
            text = str(event.get("text") or "")
            refusal = await directory.refusal(user)
            if refusal is None:
                await marks.command(ref, text, user, await names.display_name(user))
            else:
                log.info("mark command by %s refused: %s", user, refusal)
                once = f"slack-message:{ref.channel}:{ref.id}"
                await notices.tell(
                    refusal, ref.channel, user, texts.NOT_DONE_NOT_STAFF, once, ref.thread
                )
            # Handled here, so the thread-reply listener never relays it; an explicit 200 stops
            # Slack from retrying the event.
            return BoltResponse(status=200, body="")
        if isinstance(event, dict) and _is_mark_reaction(event, staff_channel):
            await _on_reaction(event)
        await next()
        return None

    async def _on_reaction(event: dict[str, Any]) -> None:
        item = event["item"]
        found = await client.conversations_replies(
            channel=item["channel"], ts=item["ts"], inclusive=True, limit=1000
        )
        post = next((m for m in found.get("messages") or [] if m.get("ts") == item["ts"]), None)
        if post is None or not post.get("thread_ts") or not await directory.is_ours(post):
            return  # only the bridge's own posts in a thread show customer messages
        user = str(event.get("user") or "")
        if await directory.refusal(user) is not None:
            log.info("mark reaction by %s ignored: not staff", user)
            return
        added = event.get("type") == "reaction_added"
        mark = await marks.react(
            StaffMessageRef(item["channel"], str(item["ts"]), str(post["thread_ts"])),
            customer_words(str(post.get("text") or "")),
            MARK_REACTIONS[str(event["reaction"])],
            user,
            added=added,
            user_name=await names.display_name(user) if added else "",
        )
        log.info("staff mark %s on %s: %s", event["reaction"], item["ts"], mark)


def _is_mark_command(event: dict[str, Any], staff_channel: str) -> bool:
    return (
        event.get("type") == "message"
        and event.get("channel") == staff_channel
        and event.get("subtype") is None
        and not event.get("bot_id")
        and bool(event.get("user"))
        and bool(event.get("thread_ts"))
        and event.get("thread_ts") != event.get("ts")
        and is_command(str(event.get("text") or ""))
    )


def _is_mark_reaction(event: dict[str, Any], staff_channel: str) -> bool:
    item = event.get("item") or {}
    return (
        event.get("type") in ("reaction_added", "reaction_removed")
        and event.get("reaction") in MARK_REACTIONS
        and item.get("type") == "message"
        and item.get("channel") == staff_channel
        and bool(event.get("user"))
    )
