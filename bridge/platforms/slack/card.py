"""The handoff card: the Block Kit post that opens each staff thread and shows its current state.

Rendered from the conversation record every time, so a re-sent update is harmless and the card
can never disagree with Redis. Everything the customer wrote is escaped.
"""

from __future__ import annotations

import time
from typing import Any

from bridge.models import Conversation, DeskAction, HandoffReason, Mode
from bridge.platforms.slack.mrkdwn import escape
from bridge.texts import staff as texts

# The buttons' action ids, and the desk action each one is.
CLAIM, CLOSE, HAND_BACK = "desk_claim", "desk_close", "desk_hand_back"
ACTIONS = {CLAIM: DeskAction.CLAIM, CLOSE: DeskAction.CLOSE, HAND_BACK: DeskAction.HAND_BACK}
# The card quotes the customer's last message; the transcript below has it in full.
TRIGGER_PREVIEW = 300
INTENT_PREVIEW = 80

JSON = dict[str, Any]


def render(
    conversation: Conversation, earlier_threads: list[str], now_ms: int | None = None
) -> tuple[str, list[JSON]]:
    """(fallback text, blocks) for the conversation's current handoff."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    customer = conversation.customer
    named = customer.name or customer.email if customer is not None else ""
    who = escape(named or conversation.display_name or conversation.external_id)
    channel = texts.CHANNEL_LABELS.get(str(conversation.channel), str(conversation.channel))
    title = ":wave: " + texts.handoff_title(channel, who, escape(conversation.id))
    why = _why(conversation)
    state = _state(conversation, now_ms)
    blocks: list[JSON] = [
        _section(title),
        _context(_identity(conversation)),
        {
            "type": "section",
            "fields": [_mrkdwn(f"*{texts.WHY}:* {why}"), _mrkdwn(_waiting(conversation))],
        },
    ]
    if conversation.language:
        blocks.append(_context(f":speech_balloon: {texts.wrote_in(conversation.language)}"))
    if conversation.intents:
        blocks.append(_section(f"*{texts.UNDERSTOOD}:*\n" + _intents(conversation)))
    blocks.append(_section(f"*{texts.STATUS}:* {state}"))
    if earlier_threads:
        links = ", ".join(earlier_threads)
        blocks.append(_context(f":leftwards_arrow_with_hook: {texts.RETURNING} {links}"))
    buttons = _buttons(conversation)
    if buttons:
        blocks.append({"type": "actions", "block_id": "desk", "elements": buttons})
    blocks.append(_context(f":memo: {texts.NOTE_HINT}"))
    text = (
        f"{title}\n{_identity(conversation)}\n*{texts.WHY}:* {why}\n*{texts.STATUS}:* {state}\n"
        f"{texts.NOTE_HINT}"
    )
    return text, blocks


def _identity(conversation: Conversation) -> str:
    """Who the customer is, as far as the shop vouched for them."""
    customer = conversation.customer
    if customer is None:
        return ":grey_question: " + texts.NOT_VERIFIED
    name, email = escape(customer.name), escape(customer.email)
    return ":white_check_mark: " + texts.verified(name, email, str(customer.via))


def _why(conversation: Conversation) -> str:
    reason = HandoffReason.parse(conversation.handoff_reason)
    why = texts.HANDOFF_REASONS.get(reason, escape(conversation.handoff_reason))
    trigger = conversation.trigger
    if trigger:
        if len(trigger) > TRIGGER_PREVIEW:
            trigger = trigger[:TRIGGER_PREVIEW] + texts.IN_FULL_BELOW
        why += f": “{escape(trigger)}”"
    return why


def _waiting(conversation: Conversation) -> str:
    since = conversation.handoff_at_ms // 1000
    when = f"<!date^{since}^{{date_short_pretty}} {{time}}|{_utc(since)}>"
    text = f"*{texts.WAITING_SINCE}:* {when}"
    if conversation.after_hours:
        text += f"\n:crescent_moon: {texts.OUTSIDE_HOURS}"
    return text


def _state(conversation: Conversation, now_ms: int) -> str:
    if conversation.mode is Mode.CLOSED:
        return ":white_check_mark: " + texts.closed_by(escape(conversation.closed_name))
    if conversation.mode is Mode.BOT:
        return ":robot_face: " + texts.handed_back_by(escape(conversation.handed_back_name))
    if conversation.claimed_name:
        waited = texts.minutes(conversation.claimed_at_ms - conversation.handoff_at_ms)
        return ":raising_hand: " + texts.claimed_by(escape(conversation.claimed_name), waited)
    waiting = texts.minutes(now_ms - conversation.handoff_at_ms)
    return ":hourglass_flowing_sand: " + texts.unclaimed_waiting(waiting)


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
        buttons.append(_button(texts.CLAIM, CLAIM, conversation.id, style="primary"))
    buttons.append(_button(texts.CLOSE, CLOSE, conversation.id))
    buttons.append(_button(texts.HAND_BACK, HAND_BACK, conversation.id))
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


def _utc(seconds: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(seconds))


def _mrkdwn(text: str) -> JSON:
    return {"type": "mrkdwn", "text": text}


def _section(text: str) -> JSON:
    return {"type": "section", "text": _mrkdwn(text)}


def _context(text: str) -> JSON:
    return {"type": "context", "elements": [_mrkdwn(text)]}
