"""The handoff card: the Block Kit post that opens each staff thread and shows its current state.

Rendered from the conversation record every time, so a re-sent update is harmless and the card
can never disagree with Redis. Everything the customer wrote is escaped (`slack_format.escape`).
"""

from __future__ import annotations

import time
from typing import Any

from bridge.models import Conversation, HandoffReason, Mode
from bridge.slack_format import CHANNEL_LABELS, escape
from bridge.texts import HANDOFF_REASONS_FOR_STAFF

CLAIM, CLOSE, HAND_BACK = "desk_claim", "desk_close", "desk_hand_back"
NOTE_MARKERS = ("!note", "//")
NOTE_HINT = (
    "Replies in this thread go to the customer. Start a message with `!note` or `//` to keep "
    "it internal."
)
# The card quotes the customer's last message; the transcript below has it in full.
TRIGGER_PREVIEW = 300
INTENT_PREVIEW = 80

JSON = dict[str, Any]


def render(
    conversation: Conversation, earlier_threads: list[str], now_ms: int | None = None
) -> tuple[str, list[JSON]]:
    """(fallback text, blocks) for the conversation's current handoff."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    who = escape(conversation.display_name or conversation.external_id)
    channel = CHANNEL_LABELS.get(str(conversation.channel), str(conversation.channel))
    title = f":wave: *Handoff* from {channel}: *{who}* (`{escape(conversation.id)}`)"
    why = _why(conversation)
    state = _state(conversation, now_ms)
    blocks: list[JSON] = [
        _section(title),
        {"type": "section", "fields": [_mrkdwn(f"*Why:* {why}"), _mrkdwn(_waiting(conversation))]},
    ]
    if conversation.intents:
        blocks.append(_section("*The bot understood:*\n" + _intents(conversation)))
    blocks.append(_section(f"*Status:* {state}"))
    if earlier_threads:
        links = ", ".join(earlier_threads)
        blocks.append(_context(f":leftwards_arrow_with_hook: Returning customer; earlier: {links}"))
    buttons = _buttons(conversation)
    if buttons:
        blocks.append({"type": "actions", "block_id": "desk", "elements": buttons})
    blocks.append(_context(f":memo: {NOTE_HINT}"))
    text = f"{title}\n*Why:* {why}\n*Status:* {state}\n{NOTE_HINT}"
    return text, blocks


def is_note(text: str) -> bool:
    """A staff message meant for the team only (see docs/staff-desk.md)."""
    head = text.lstrip().lower()
    return head.startswith(NOTE_MARKERS)


def _why(conversation: Conversation) -> str:
    reason = HandoffReason.parse(conversation.handoff_reason)
    why = HANDOFF_REASONS_FOR_STAFF.get(reason, escape(conversation.handoff_reason))
    trigger = conversation.trigger
    if trigger:
        if len(trigger) > TRIGGER_PREVIEW:
            trigger = trigger[:TRIGGER_PREVIEW] + "… (in full below)"
        why += f": “{escape(trigger)}”"
    return why


def _waiting(conversation: Conversation) -> str:
    since = conversation.handoff_at_ms // 1000
    when = f"<!date^{since}^{{date_short_pretty}} {{time}}|{_utc(since)}>"
    text = f"*Waiting since:* {when}"
    if conversation.after_hours:
        text += "\n:crescent_moon: outside office hours; the customer was told when to expect us"
    return text


def _state(conversation: Conversation, now_ms: int) -> str:
    if conversation.mode is Mode.CLOSED:
        return f":white_check_mark: Closed by {escape(conversation.closed_name)}"
    if conversation.mode is Mode.BOT:
        return f":robot_face: Handed back to the bot by {escape(conversation.handed_back_name)}"
    if conversation.claimed_name:
        waited = _minutes(conversation.claimed_at_ms - conversation.handoff_at_ms)
        return (
            f":raising_hand: Claimed by *{escape(conversation.claimed_name)}* "
            f"(the customer waited {waited})"
        )
    waiting = _minutes(now_ms - conversation.handoff_at_ms)
    return f":hourglass_flowing_sand: Unclaimed, waiting {waiting}"


def _intents(conversation: Conversation) -> str:
    lines = []
    for item in conversation.intents:
        said = item.text if len(item.text) <= INTENT_PREVIEW else item.text[:INTENT_PREVIEW] + "…"
        lines.append(f"• `{escape(item.intent)}` {item.confidence:.0%} — “{escape(said)}”")
    return "\n".join(lines)


def _buttons(conversation: Conversation) -> list[JSON]:
    if conversation.mode is not Mode.HUMAN:
        return []
    buttons = []
    if not conversation.claimed_by:
        buttons.append(_button("Claim", CLAIM, conversation.id, style="primary"))
    buttons.append(_button("Close", CLOSE, conversation.id))
    buttons.append(_button("Hand back to the bot", HAND_BACK, conversation.id))
    return buttons


def _button(label: str, action_id: str, value: str, style: str = "") -> JSON:
    button: JSON = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": label},
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def _minutes(ms: int) -> str:
    minutes = max(0, ms) // 60_000
    return "under a minute" if minutes < 1 else f"{minutes} min"


def _utc(seconds: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(seconds))


def _mrkdwn(text: str) -> JSON:
    return {"type": "mrkdwn", "text": text}


def _section(text: str) -> JSON:
    return {"type": "section", "text": _mrkdwn(text)}


def _context(text: str) -> JSON:
    return {"type": "context", "elements": [_mrkdwn(text)]}
