"""Every sentence the bridge says to staff, in one place (customers: texts/customers.py).

Staff read these in Slack, so markup that is part of a sentence (bold, an emoji name, a
command in backticks) is Slack's mrkdwn. Values are filled in by the Slack package
(bridge/platforms/slack), which escapes anything a customer wrote.
"""

from __future__ import annotations

from bridge.models import HandoffReason, Role
from bridge.texts.languages import language_name

# Why the conversation came to a person, as the card says it.
HANDOFF_REASONS: dict[HandoffReason, str] = {
    HandoffReason.EXPLICIT_REQUEST: "asked for a person",
    HandoffReason.COMPLAINT: "made a complaint",
    HandoffReason.REPEATED_MISS: "the bot could not understand two messages in a row",
    HandoffReason.LOW_CONFIDENCE: "the bot was not confident enough to answer",
    HandoffReason.OUT_OF_SCOPE: "the question is outside what the bot covers",
    HandoffReason.BACKEND_FAILED: "the bot could not complete the request",
    HandoffReason.BOT_UNAVAILABLE: "the bot was unavailable",
    HandoffReason.NOT_RESOLVED: "the bot's answer did not resolve it",
    HandoffReason.LANGUAGE: "wrote in a language the bot does not answer",
}

CHANNEL_LABELS = {"widget": "Web chat", "telegram": "Telegram"}
ROLE_LABELS = {
    Role.CUSTOMER: "Customer",
    Role.BOT: "Bot",
    Role.STAFF: "Staff",
    Role.SYSTEM: "Notice",
}

# --- the card ---------------------------------------------------------------------------

CLAIM, CLOSE, HAND_BACK = "Claim", "Close", "Hand back to the bot"
NOTE_HINT = (
    "Replies in this thread go to the customer. Start a message with `!note` or `//` to keep "
    "it internal."
)
WHY, WAITING_SINCE, UNDERSTOOD, STATUS = "Why", "Waiting since", "The bot understood", "Status"
IN_FULL_BELOW = "… (in full below)"
OUTSIDE_HOURS = "outside office hours; the customer was told when to expect us"
RETURNING = "Returning customer; earlier:"


VERIFIED_BY = {
    "web_login": "signed in on the shop's website",
    "linked_chat": "Telegram linked from their account page",
}
NOT_VERIFIED = (
    "*Not verified*: the customer is not signed in, so anything they say about themselves is "
    "unconfirmed. They see order details only after giving the order's email or postcode."
)


def verified(name: str, email: str, via: str) -> str:
    who = ", ".join(part for part in (name, email) if part)
    return f"*Verified:* {who} ({VERIFIED_BY.get(via, via)})"


def handoff_title(channel: str, who: str, conversation_id: str) -> str:
    return f"*Handoff* from {channel}: *{who}* (`{conversation_id}`)"


def closed_by(name: str) -> str:
    return f"Closed by {name}"


def handed_back_by(name: str) -> str:
    return f"Handed back to the bot by {name}"


def claimed_by(name: str, waited: str) -> str:
    return f"Claimed by *{name}* (the customer waited {waited})"


def unclaimed_waiting(waited: str) -> str:
    return f"Unclaimed, waiting {waited}"


def minutes(ms: int) -> str:
    whole = max(0, ms) // 60_000
    return "under a minute" if whole < 1 else f"{whole} min"


# --- the thread -------------------------------------------------------------------------

TRANSCRIPT_HEADING = "*Transcript so far:*"
NO_TRANSCRIPT = "_No messages before the handoff._"
FILE_EXPIRED = "_(a file was attached, but it has expired)_"
NOT_DELIVERED = "Not delivered to the customer"

# Why a staff reply did not reach the customer (a receipt's reason).
NOT_SENT_CLOSED = "this conversation is closed. A new request from the customer opens a new thread."
NOT_SENT_BOT = "the conversation was handed back to the bot."
NOT_SENT_MOVED = "the customer came back later; the conversation continues in a newer thread."


# --- who counts as staff (docs/staff-desk.md) ------------------------------------------------
# Only the person refused sees these (ephemeral), in the thread or the channel they acted in.

NOT_SENT_NOT_STAFF = "Your message was not sent to the customer"
NOT_DONE_NOT_STAFF = "Nothing was done"  # a card button, a mark
# Why, by platforms.slack.staff.Refusal; those missing here (bots, ourselves) are told nothing.
NOT_STAFF_REASONS = {
    "other_organisation": (
        "only members of this workspace answer customers, and you are a member of another "
        "organisation this channel is shared with."
    ),
    "guest": "guests of this workspace do not answer customers.",
    "not_in_group": (
        "only members of the support team's user group answer customers. Ask a workspace "
        "admin to add you to it."
    ),
}


def not_staff(outcome: str, why: str) -> str:
    return f":no_entry_sign: {outcome}: {why}"


def rated(answer: str) -> str:
    return f"The customer rated this conversation: *{answer}*"


def unclaimed(minutes: str) -> str:
    return (
        f"Nobody claimed this within {minutes} min; the customer was told we are "
        "busy and that the answer will reach them here."
    )


# --- staff marks (docs/learning.md) -------------------------------------------------------

MARK_USAGE = (
    "To mark a customer message for review, react to its post with :robot_face: (the bot should "
    "have handled it) or :new: (a new topic), then reply `!intent <intent_name>` or "
    "`!new <short label>`. Or name the message in the command: `!intent <intent_name> #2`, "
    '`!new <short label> "words from it"`.'
)
NOT_MARKED = "Not marked."


def not_marked(why: str) -> str:
    return f"Not marked: {why}"


def line_ref(number: int, words: str) -> str:
    """A customer line as a mark's answer names it: `#2 “…”`."""
    return (f"#{number} " if number else "") + f"“{words}”"


def marked(words: str, what: str, who: str = "") -> str:
    return f"Marked for review: {words} → {what}" + (f" — {who}" if who else "")


def marked_should_handle(line: str, who: str) -> str:
    return (
        f"Marked for review, the bot should have handled it: {line} — {who}. Reply "
        "`!intent <intent_name>` to say what it should have understood."
    )


def marked_new_topic(line: str, who: str) -> str:
    return (
        f"Marked for review as a new topic: {line} — {who}. Reply `!new <short label>` to name "
        "the topic."
    )


def unmarked(line: str, who: str) -> str:
    return f"Mark removed with the reaction: {line} is no longer marked for review — {who}"


def new_topic(label: str) -> str:
    return "a new topic" + (f" ({label})" if label else "")


PICK_WHAT = {"should_handle": "the bot should have handled", "new_topic": "is a new topic"}
PICK_COMMAND = {"should_handle": "!intent <intent_name>", "new_topic": "!new <short label>"}


def pick(what: str, who: str, command: str) -> str:
    return (
        f"{who}, the post you reacted to shows several customer messages: which one {what}? "
        f"Click it (or reply `{command} #<number>`). Nothing is marked until then."
    )


def not_marked_no_target(command: str, minutes: int) -> str:
    return (
        f"`{command}` does not say which customer message it is about, and you have no unnamed "
        f"mark from the last {minutes} minutes in this thread. Name the message: "
        f'`{command} #2` or `{command} "words from it"`, or react to it with :robot_face: and '
        "send the command again."
    )


BAD_INTENT_NAME = (
    "an intent name is lower-case letters, digits and `_`, as in `!intent track_order`."
)
NOT_A_CUSTOMER_MESSAGE = (
    "that post shows no customer message, and only the customer's words are examples for the "
    "bot. React to the customer's own line."
)
LINE_GONE = "that customer message is no longer in this thread."


def no_such_line(number: int) -> str:
    return f"there is no customer message #{number} in this thread."


def no_line_contains(words: str) -> str:
    return f"no customer message in this thread contains “{words}”."


def several_contain(words: str) -> str:
    return f"several customer messages contain “{words}”: name one by its number."


CUSTOMER_LINES = "The customer's messages here:"
NO_CUSTOMER_LINES = "This thread shows no customer message yet."


# --- topic spikes ---------------------------------------------------------------------------


def spike_heading(topic: str, last_hour: int, usual_per_hour: float) -> str:
    return (
        f"*Topic spike: `{topic}`* — {last_hour} handoffs or abstentions in the last hour "
        f"(usual: {usual_per_hour:.1f} an hour)."
    )


SPIKE_EXAMPLES = "Recent examples:"
SPIKE_FOOTER = "Something may be wrong with this product area; `make review` lists them all."


def wrote_in(code: str) -> str:
    """The card's line for a customer who wrote in a language other than English."""
    return f"Wrote in {language_name(code)} ({code}): reply in it if you can"
