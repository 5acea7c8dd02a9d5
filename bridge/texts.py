"""Every sentence the bridge itself says to a customer, in one place."""

from __future__ import annotations

from bridge.models import HandoffReason

_ANSWER_HERE = "They will answer here, in this chat; you don't need to do anything else."

HANDOFF_NOTICES: dict[HandoffReason, str] = {
    HandoffReason.EXPLICIT_REQUEST: "I'm connecting you with a person from our team. "
    + _ANSWER_HERE,
    HandoffReason.COMPLAINT: (
        "I've passed this to a person from our team, who will read what you wrote. " + _ANSWER_HERE
    ),
    HandoffReason.BACKEND_FAILED: (
        "I couldn't complete that myself, so I've passed it to a person from our team. "
        + _ANSWER_HERE
    ),
    HandoffReason.BOT_UNAVAILABLE: (
        "Our assistant is unavailable right now, so I've passed your message to a person from "
        "our team. " + _ANSWER_HERE
    ),
}

_DEFAULT_NOTICE = (
    "I can't resolve this myself, so I've passed your conversation to a person from our team. "
    + _ANSWER_HERE
)


def handoff_notice(reason: HandoffReason) -> str:
    return HANDOFF_NOTICES.get(reason, _DEFAULT_NOTICE)


# Shown as the reason on the staff thread.
HANDOFF_REASONS_FOR_STAFF: dict[HandoffReason, str] = {
    HandoffReason.EXPLICIT_REQUEST: "asked for a person",
    HandoffReason.COMPLAINT: "made a complaint",
    HandoffReason.REPEATED_MISS: "the bot could not understand two messages in a row",
    HandoffReason.LOW_CONFIDENCE: "the bot was not confident enough to answer",
    HandoffReason.OUT_OF_SCOPE: "the question is outside what the bot covers",
    HandoffReason.BACKEND_FAILED: "the bot could not complete the request",
    HandoffReason.BOT_UNAVAILABLE: "the bot was unavailable",
}

TELEGRAM_TEXT_ONLY = "I can only read text messages here for now."
