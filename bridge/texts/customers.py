"""Every sentence the bridge itself says to a customer, in one place (staff: texts/staff.py)."""

from __future__ import annotations

from bridge.models import HandoffReason
from bridge.texts.languages import LanguageTexts, texts_for

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
    HandoffReason.NOT_RESOLVED: (
        "I've passed this to a person from our team, who will look into it with you. "
        + _ANSWER_HERE
    ),
    HandoffReason.LANGUAGE: (
        "Our assistant only answers in English, so I've passed your message to a person from "
        "our team. " + _ANSWER_HERE
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


def _in_their_language(language: str) -> LanguageTexts | None:
    """The texts of a language other than English the customer wrote in, if we have them."""
    return texts_for(language) if language and language != "en" else None


def handoff_notice(reason: HandoffReason, language: str = "") -> str:
    """What the customer is told when a person takes over: in their own language when the
    assistant heard one it does not answer (issue 15), else in English."""
    own = _in_their_language(language)
    if own is not None:
        return own.not_answered if reason is HandoffReason.LANGUAGE else own.to_person
    return HANDOFF_NOTICES.get(reason, _DEFAULT_NOTICE)


def handoff_busy(retry_after_s: float) -> str:
    """A guest's handoff refused while too many guests ask at once (docs/abuse.md)."""
    minutes = max(1, round(retry_after_s / 60))
    when = "in a minute" if minutes == 1 else f"in about {minutes} minutes"
    return (
        "Our team is getting more requests than it can take right now, so I can't connect you "
        f"this minute. Please ask for a person again {when}. If you have an account with us, "
        "signing in first gets you through straight away."
    )


def limited(retry_after_s: float) -> str:
    """A web visitor over one of the abuse limits (new chats, messages, uploads)."""
    seconds = max(1, round(retry_after_s))
    when = f"{seconds} seconds" if seconds < 120 else f"{round(seconds / 60)} minutes"
    return f"Too many requests from your connection. Please try again in {when}."


def with_file_not_kept(text: str) -> str:
    """A message whose file the bridge could not keep (its file storage is full)."""
    note = "(a file was sent with this message, but could not be kept)"
    return f"{text}\n{note}" if text else note


FILES_FULL = "We can't take more files right now. Please try again later, or describe it in words."
UNAVAILABLE = "We can't take messages right now. Please try again in a few minutes."
SESSION_ENDED = "This chat has ended. Please send your message again to start a new one."


FILES_NEED_A_PERSON = (
    "I can't look at photos or files myself. A person from our team can: tap below and send "
    "it again once they have joined."
)
TALK_TO_A_PERSON = "Talk to a person"
# A customer sending more messages a minute than the bridge accepts (per-customer quota).
SLOW_DOWN = (
    "You're sending messages faster than we can take them in. Please wait a minute, then "
    "send the rest; the messages from the last few seconds were not received."
)


# --- the staff desk (docs/staff-desk.md) ---------------------------------------------------


def claimed_notice(name: str) -> str:
    return f"{name} from our team is looking at your conversation now."


def closed_notice(name: str) -> str:
    who = name or "Our team"
    return f"{who} has closed this conversation. If you need anything else, just write here."


CSAT_QUESTION = "How would you rate the help you got today?"
# Button titles and the payloads they send back; the payloads never reach the assistant.
CSAT_PREFIX = "/csat_"
CSAT_ANSWERS: dict[str, str] = {
    "/csat_great": "😀 Great",
    "/csat_ok": "😐 OK",
    "/csat_poor": "🙁 Poor",
}
CSAT_THANKS = "Thank you for telling us!"

HANDED_BACK_NOTICE = (
    "You're back with our automated assistant. Ask me anything, or ask for a person at any time."
)


def after_hours_notice(hours: str, next_open: str, language: str = "") -> str:
    own = _in_their_language(language)
    if own is not None:
        return f"{own.after_hours} ({hours}; {next_open})"
    return (
        f"Our team is available {hours}, so nobody can read this right now. A person will "
        f"answer here from {next_open}; you can close this chat, the answer will reach you here."
    )


def unclaimed_notice(hours: str) -> str:
    when = f" Our team works {hours}." if hours else ""
    return (
        "Sorry for the wait: everyone on our team is busy right now. A person will answer here "
        "as soon as one is free; you can close this chat, the answer will reach you here." + when
    )


def correction(author: str, text: str) -> str:
    """An edited staff message that cannot be edited in place on the customer's side."""
    return f"Correction from {author or 'our team'}: {text}"


def withdrawn(author: str) -> str:
    return f"{author or 'Our team'} withdrew an earlier message; please disregard it."


# --- the widget's error frames a customer can cause (docs/widget-protocol.md) ---------------
# The others (a malformed frame) only a broken integration sends; they name the protocol.

UNKNOWN_SESSION = "unknown session; starting a new one"


def text_too_long(limit: int) -> str:
    return f"messages are limited to {limit} characters"


def file_too_large(limit_mb: int) -> str:
    return f"files are limited to {limit_mb} MB"


def too_many_messages(per_minute: int) -> str:
    return f"at most {per_minute} messages a minute; please wait, then send again"


# --- identity (docs/identity.md) -------------------------------------------------------------


def identity_refused(reason: str) -> str:
    """The widget's `bad_identity` error: the page's sign-in could not be used."""
    return f"We couldn't confirm your sign-in ({reason}), so you're chatting as a guest."


LINK_REFUSED = (
    "This link has expired or was already used. Open your account page on our website for a "
    "new one."
)
NOT_LINKED = "This chat isn't linked to an account."
UNLINKED = (
    "This chat is no longer linked to your account. You can link it again from your account "
    "page on our website."
)


def linked(account: str) -> str:
    return (
        f"This chat is now linked to your account ({mask_email(account)}), so I can help with "
        "your orders here. Send /unlink to undo it."
    )


def mask_email(address: str) -> str:
    """`ana@example.com` -> `a**@example.com`: enough to recognise, not to harvest."""
    name, at, domain = address.partition("@")
    if not at:
        return address
    return name[:1] + "*" * max(len(name) - 1, 2) + "@" + domain
