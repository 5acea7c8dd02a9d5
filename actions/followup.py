"""What the last answer means for the next message (issue 15, context).

* A follow-up keeps its topic: after an order's status, "and 10236?" asks the same for 10236.
* An answer the customer says did not solve it ("that didn't help", "it says delivered but it
  never arrived") goes to a person with the reason "not resolved", and so does a request that
  would only get the very same answer again: the bot never repeats itself.

The last answer is kept in the `last_answer` slot: {"key": <answered request>, "details": <the
details it was given: order number, email, address>}. A handoff clears it.
"""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet

from actions import handoff
from actions.answers import ANSWERS, Details, extract

SLOT = "last_answer"
# Saying these twice is conversation, not a request that failed.
CONVERSATIONAL = frozenset({"greet", "goodbye", "thank_you", "stop", "affirm", "deny"})
# "and 10236?", "what about #10236", "same for order 10236 please", "10236?"
FOLLOW_UP = re.compile(
    r"^\s*(?:and|also|ok|okay|then|so)?\s*(?:what about|how about|same for|same with|for|and)?"
    r"\s*(?:my\s+)?(?:the\s+)?(?:other\s+)?(?:order|one|parcel|package)?\s*(?:no\.?|number|#)?"
    r"\s*\d{4,15}\s*(?:too|as well|please|pls)?\s*[?.!]*\s*$",
    re.IGNORECASE,
)
MAX_FOLLOW_UP_WORDS = 6


def answered(key: str, details: Details) -> EventType:
    """The event that remembers this answer for the next message."""
    return SlotSet(SLOT, {"key": key, "details": _compared(details)})


def _compared(details: Details) -> Details:
    """The details that make two answers the same (not the customer's yes, nor their proof)."""
    return {k: v for k, v in details.items() if k not in ("confirm", "proof")}


def _last(tracker: Tracker) -> dict[str, Any]:
    value = tracker.get_slot(SLOT)
    return value if isinstance(value, dict) else {}


def topic_of(tracker: Tracker, text: str, outcome: str) -> str | None:
    """The request a follow-up continues: the last answer's, when this message only names
    another order ("and 10236?"), or is a short one with an order number the classifier could
    not place. None otherwise, and always while the bot waits for a detail."""
    key = _last(tracker).get("key")
    if not key or key not in ANSWERS or tracker.get_slot("pending"):
        return None
    if "order_number" not in ANSWERS[key].needs or extract("order_number", text) is None:
        return None
    short_and_unplaced = outcome == "abstain" and len(text.split()) <= MAX_FOLLOW_UP_WORDS
    return key if FOLLOW_UP.match(text) or short_and_unplaced else None


def would_repeat(tracker: Tracker, key: str, details: Details) -> bool:
    """This request is the one just answered, with the same details (order, email,
    address): saying it again would repeat what the customer has already been told."""
    last = _last(tracker)
    return (
        key not in CONVERSATIONAL
        and last.get("key") == key
        and last.get("details") == _compared(details)
    )


def handoff_reason(reason: str, tracker: Tracker) -> str:
    """ "It didn't help" after an answer is "not resolved"; with no answer before it, the
    customer is reporting a problem, which a person takes as a complaint."""
    if reason == handoff.NOT_RESOLVED and not _last(tracker):
        return handoff.COMPLAINT
    return reason
