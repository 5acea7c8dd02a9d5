"""Slack message events in the staff channel: a staff reply in a handoff thread, and an edit or
deletion of one, handed to the router's staff side as plain text."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp

from bridge.models import StaffMessageRef, StaffReply
from bridge.platforms.slack.files import SlackFiles
from bridge.platforms.slack.mrkdwn import staff_text_to_plain
from bridge.platforms.slack.names import StaffNames
from bridge.ports import StaffDoor

# Takes the event and the whole request body (for its event_id).
ReplyHandler = Callable[[dict[str, Any], dict[str, Any]], Awaitable[None]]


def register(
    bolt: AsyncApp, desk: StaffDoor, names: StaffNames, files: SlackFiles, staff_channel: str
) -> ReplyHandler:
    """Listen for staff messages; returns the reply handler (the fast path calls it too)."""

    @bolt.event("message")
    async def on_message(event: dict[str, Any], body: dict[str, Any]) -> None:
        event_id = str(body.get("event_id") or event.get("event_ts") or event.get("ts"))
        if event.get("subtype") in ("message_changed", "message_deleted"):
            await on_revision(event, event_id)
            return
        if not is_staff_thread_reply(event, staff_channel):
            return
        await staff_reply(event, body)

    async def staff_reply(event: dict[str, Any], body: dict[str, Any]) -> None:
        """A staff member's reply in a thread (checked by is_staff_thread_reply)."""
        author = await names.display_name(event.get("user", ""))
        attachments = await files.fetch(event.get("files") or [])
        await desk.staff_reply(
            StaffReply(
                ref=StaffMessageRef(event["channel"], event["ts"], event["thread_ts"]),
                text=staff_text_to_plain(event.get("text", "")),
                user_id=event.get("user", ""),
                author=author,
                event_id=str(body.get("event_id") or event["ts"]),
                attachments=tuple(attachments),
            )
        )

    async def on_revision(event: dict[str, Any], event_id: str) -> None:
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
        await desk.staff_revision(ref, plain, author, event_id)

    @bolt.event("reaction_added")
    @bolt.event("reaction_removed")
    async def on_reaction(event: dict[str, Any]) -> None:
        """Our own receipts come back as events; acknowledging them stops Slack's retries."""

    return staff_reply


def is_staff_thread_reply(event: dict[str, Any], staff_channel: str) -> bool:
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
