"""Staff marks from Slack (docs/learning.md): a 🤖 or 🆕 reaction on a customer's line in a
handoff thread, a click in the line picker, and `!intent <name>` / `!new <label>` thread
replies, which stay in Slack.

A reaction marks the customer line of the post it is on. A post showing several (the
transcript, a burst of lines posted together) and the card (which stands for the whole thread)
get a picker instead: buttons, one per customer line (`PICK_ACTION`). Lines are numbered in the
order the thread shows them, which is what `!intent <name> #<number>` names.

The commands run as a bolt middleware so it sees them before the thread-reply listener (bolt
runs only the first listener that matches): a mark command must never be relayed to the
customer. Only staff mark (platforms/slack/staff.py): anyone else's command or click is refused
(they are told) and their reactions are not marks.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.response import BoltResponse

from bridge.learning.marks import Line, MarkKind, is_command
from bridge.models import Role, StaffMessageRef
from bridge.platforms.slack.mrkdwn import unescape
from bridge.platforms.slack.names import StaffNames
from bridge.platforms.slack.render import PICK_ACTION, picked
from bridge.platforms.slack.staff import Notices, StaffDirectory
from bridge.ports import MarksDoor
from bridge.texts import staff as texts

log = logging.getLogger(__name__)

# The reactions that are marks.
MARK_REACTIONS = {"robot_face": MarkKind.SHOULD_HANDLE, "new": MarkKind.NEW_TOPIC}
# A thread is read in pages of this many messages, at most this many pages.
PAGE, PAGES = 200, 10

JSON = dict[str, Any]

# The first line of each transcript entry in the bridge's posts: "*Customer:* …", "*Bot:* …",
# "*Staff (Alice):* …" (mrkdwn.transcript_line); the lines after it until the next entry are its.
_LABELS = "|".join(re.escape(label) for label in texts.ROLE_LABELS.values())
_ENTRY = re.compile(rf"^\*(?P<role>{_LABELS})(?: \([^\n]*?\))?:\*(?: (?P<words>.*))?$")
_CUSTOMER = texts.ROLE_LABELS[Role.CUSTOMER]


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
            text = unescape(str(event.get("text") or ""))
            refusal = await directory.refusal(user)
            if refusal is None:
                lines = await _lines(await _thread(ref.channel, ref.thread), ref.thread)
                await marks.command(ref, text, user, await names.display_name(user), lines)
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
            await _on_reaction(event, str(body.get("event_id") or ""))
        await next()
        return None

    @bolt.action(re.compile(rf"^{PICK_ACTION}"))
    async def on_pick(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()  # with process_before_response, answered once the mark is stored
        container = body.get("container") or {}
        channel, picker = container.get("channel_id"), str(container.get("message_ts") or "")
        thread = str((body.get("message") or {}).get("thread_ts") or "")
        user = str((body.get("user") or {}).get("id") or "")
        choice = picked(action.get("value"))
        if channel != staff_channel or not picker or not thread or not user or choice is None:
            return
        click = str(action.get("action_ts") or body.get("trigger_id") or "")
        refusal = await directory.refusal(user)
        if refusal is not None:
            log.info("mark pick on %s by %s refused: %s", picker, user, refusal)
            await notices.tell(
                refusal, channel, user, texts.NOT_DONE_NOT_STAFF, f"click:{click}", thread
            )
            return
        kind, field, on = MarkKind(choice[0]), choice[1], choice[2]
        lines = await _lines(await _thread(channel, thread), thread)
        line = next((candidate for candidate in lines if candidate.field == field), None)
        ref = StaffMessageRef(channel, picker, thread)
        name = await names.display_name(user)
        mark = await marks.pick(ref, line, kind, on, user, name, click)
        log.info("staff mark %s picked on %s: %s", kind, picker, mark)

    async def _on_reaction(event: dict[str, Any], event_id: str) -> None:
        item = event["item"]
        channel, ts = str(item["channel"]), str(item["ts"])
        messages = await _thread(channel, ts)
        post = next((m for m in messages if m.get("ts") == ts), None)
        if post is None:
            return
        ours = await directory.is_ours(post)
        # The card opens its thread (its own ts); anything else must be a reply in one.
        thread = str(post.get("thread_ts") or (ts if ours else ""))
        if not thread:
            return
        if not any(m.get("ts") == thread for m in messages):  # Slack gave the reply alone
            messages = await _thread(channel, thread)
        user = str(event.get("user") or "")
        if await directory.refusal(user) is not None:
            log.info("mark reaction by %s ignored: not staff", user)
            return
        added = event.get("type") == "reaction_added"
        reaction = str(event["reaction"])
        if not added and await _still_reacted(post, reaction):
            log.info("mark %s on %s kept: other staff's reaction is still on it", reaction, ts)
            return
        lines = await _lines(messages, thread)
        if ts == thread:
            shown = lines  # the card: the whole thread's customer lines
        else:
            shown = [line for line in lines if line.post == ts] if ours else []
        mark = await marks.react(
            StaffMessageRef(channel, ts, thread),
            shown,
            MARK_REACTIONS[reaction],
            user,
            added=added,
            user_name=await names.display_name(user),
            event_id=event_id,
        )
        log.info("staff mark %s on %s: %s", reaction, ts, mark)

    async def _thread(channel: str, ts: str) -> list[JSON]:
        """The thread of message `ts`, as Slack shows it (the parent first)."""
        messages: list[JSON] = []
        cursor = ""
        for _ in range(PAGES):
            page = await client.conversations_replies(
                channel=channel, ts=ts, limit=PAGE, cursor=cursor or None
            )
            messages += page.get("messages") or []
            cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                break
        return messages

    async def _lines(messages: list[JSON], thread: str) -> list[Line]:
        """The customer lines the bridge's posts in the thread show, numbered in order."""
        lines: list[Line] = []
        for message in sorted(messages, key=lambda m: float(m.get("ts") or 0)):
            ts = str(message.get("ts") or "")
            if ts == thread or not await directory.is_ours(message):
                continue
            said = customer_lines(str(message.get("text") or ""))
            for place, words in enumerate(said, start=1):
                lines.append(Line(len(lines) + 1, ts, place if len(said) > 1 else 0, words))
        return lines

    async def _still_reacted(post: JSON, reaction: str) -> bool:
        """Whether staff's `reaction` is still on `post` (someone else's, as the one taken off
        is gone): the mark stays while it is."""
        for entry in post.get("reactions") or []:
            if entry.get("name") == reaction:
                for other in entry.get("users") or []:
                    if await directory.refusal(str(other)) is None:
                        return True
        return False


def customer_lines(post: str) -> list[str]:
    """The customer's messages in one of the bridge's thread posts, in order: one for a
    customer line's post, several in a transcript or a burst posted together."""
    found: list[list[str]] = []
    current: list[str] | None = None
    for raw in post.split("\n"):
        entry = _ENTRY.match(raw)
        if entry is not None:
            current = [entry.group("words") or ""] if entry.group("role") == _CUSTOMER else None
            if current is not None:
                found.append(current)
        elif current is not None and raw != texts.FILE_EXPIRED:
            current.append(raw)
    said = (unescape("\n".join(parts).strip()) for parts in found)
    return [words for words in said if words]  # a file without a caption has no words


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
