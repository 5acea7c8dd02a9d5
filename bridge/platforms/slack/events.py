"""Slack message events in the staff channel: a staff reply in a handoff thread, and an edit or
deletion of one, handed to the router's staff side as plain text.

Only staff reach customers (platforms/slack/staff.py): a thread reply by anyone else is not
handed on, and its author is told so in an ephemeral notice.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp

from bridge.models import StaffMessageRef, StaffReply
from bridge.platforms.slack.files import SlackFiles
from bridge.platforms.slack.mrkdwn import staff_text_to_plain
from bridge.platforms.slack.names import StaffNames
from bridge.platforms.slack.staff import Notices, StaffDirectory
from bridge.ports import StaffDoor
from bridge.texts import staff as texts

log = logging.getLogger(__name__)

# Takes the event and the whole request body (for its event_id).
ReplyHandler = Callable[[dict[str, Any], dict[str, Any]], Awaitable[None]]


def register(
    bolt: AsyncApp,
    desk: StaffDoor,
    names: StaffNames,
    files: SlackFiles,
    staff_channel: str,
    directory: StaffDirectory,
    notices: Notices,
) -> ReplyHandler:
    """Listen for staff messages; returns the reply handler (the fast path calls it too)."""

    @bolt.event("message")
    async def on_message(event: dict[str, Any], body: dict[str, Any]) -> None:
        if event.get("subtype") in ("message_changed", "message_deleted"):
            await on_revision(event, body)
            return
        if not is_staff_thread_reply(event, staff_channel):
            return
        await staff_reply(event, body)

    async def staff_reply(event: dict[str, Any], body: dict[str, Any]) -> None:
        """A staff member's reply in a thread (checked by is_staff_thread_reply)."""
        user_id = str(event.get("user") or "")
        if await refused(event, user_id):
            return
        author = await names.display_name(user_id)
        attachments = await files.fetch(event.get("files") or [])
        await desk.staff_reply(
            StaffReply(
                ref=StaffMessageRef(event["channel"], event["ts"], event["thread_ts"]),
                text=staff_text_to_plain(event.get("text", "")),
                user_id=user_id,
                author=author,
                # The message, not the event: Slack can deliver one message under several
                # event ids (a retry with a new id, `message` and `app_mention`).
                event_id=message_key(str(event["channel"]), str(event["ts"])),
                attachments=tuple(attachments),
            )
        )

    async def refused(event: dict[str, Any], user_id: str) -> bool:
        """True (and the author told why, when that helps) if they are not staff."""
        refusal = await directory.refusal(user_id)
        if refusal is None:
            return False
        log.info("not relayed: %s in %s is not staff (%s)", user_id, event["thread_ts"], refusal)
        parent = event.get("parent_user_id")
        if parent is None or parent == (await directory.installation()).user_id:
            # A thread the bridge opened: a handoff (other threads never reach customers).
            await notices.tell(
                refusal,
                str(event["channel"]),
                user_id,
                texts.NOT_SENT_NOT_STAFF,
                once=message_key(str(event["channel"]), str(event["ts"])),
                thread_ts=str(event["thread_ts"]),
            )
        return True

    async def on_revision(event: dict[str, Any], body: dict[str, Any]) -> None:
        """A staff member edited or deleted one of their thread replies."""
        deleted = event.get("subtype") == "message_deleted"
        message = dict(event.get("previous_message" if deleted else "message") or {})
        message["channel"] = event.get("channel")
        if not is_staff_thread_reply(message, staff_channel):
            return  # our own card updates, other apps, top-level posts
        text = None if deleted else str(message.get("text", ""))
        if text is not None and text == (event.get("previous_message") or {}).get("text"):
            return  # an unfurl or other change that left the words alone
        author = await names.display_name(str(message.get("user", "")))
        ref = StaffMessageRef(
            str(message["channel"]), str(message["ts"]), str(message["thread_ts"])
        )
        plain = staff_text_to_plain(text) if text is not None else None
        # Once per change (its own ts), however many event ids it arrives under. Only a
        # message that reached the customer can change there, so an outsider's edit of their
        # own refused message finds nothing to revise.
        change = event.get("event_ts") or event.get("ts")
        event_id = f"slack-change:{ref.channel}:{change}" if change else str(body.get("event_id"))
        await desk.staff_revision(ref, plain, author, event_id)

    @bolt.event("app_mention")
    async def on_mention(event: dict[str, Any]) -> None:
        """Mentioning the app in a thread: the same message also comes as a `message` event,
        which is the one relayed; acknowledging this stops Slack's retries."""

    @bolt.event("reaction_added")
    @bolt.event("reaction_removed")
    async def on_reaction(event: dict[str, Any]) -> None:
        """Our own receipts come back as events; acknowledging them stops Slack's retries."""

    return staff_reply


def message_key(channel: str, ts: str) -> str:
    """The once key of one Slack message (a channel's message ts is unique within it)."""
    return f"slack-message:{channel}:{ts}"


def is_staff_thread_reply(event: dict[str, Any], staff_channel: str) -> bool:
    # Edits, joins and bot posts (ours and other apps') carry a subtype or a bot_id; a person
    # attaching a file is a reply too. Whether the person is staff is checked after this
    # (staff.StaffDirectory), as is our own user posting without a bot_id.
    return (
        event.get("channel") == staff_channel
        and event.get("subtype") in (None, "file_share")
        and not event.get("bot_id")
        and bool(event.get("user"))
        and bool(event.get("thread_ts"))
        and event.get("thread_ts") != event.get("ts")
    )
