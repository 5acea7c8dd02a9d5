"""The handoff signal: a custom payload the bridge turns into a Slack thread.

Rasa says nothing to the customer in a handoff turn; the bridge tells them a person is coming.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

EXPLICIT_REQUEST = "explicit_request"
COMPLAINT = "complaint"
REPEATED_MISS = "repeated_miss"
BACKEND_FAILED = "backend_failed"
LANGUAGE = "language"  # written in a language the assistant does not answer
NOT_RESOLVED = "not_resolved"  # the bot's answer did not resolve it

FALLBACK_INTENT = "nlu_fallback"


def top_intent(tracker: Tracker) -> tuple[str, float]:
    """The classifier's own best guess, even when FallbackClassifier replaced it."""
    message: dict[str, Any] = tracker.latest_message or {}
    intent = message.get("intent") or {}
    if intent.get("name") == FALLBACK_INTENT:
        for ranked in message.get("intent_ranking") or []:
            if ranked.get("name") != FALLBACK_INTENT:
                return ranked["name"], float(ranked.get("confidence") or 0.0)
    return intent.get("name") or "", float(intent.get("confidence") or 0.0)


def person_requested(tracker: Tracker, by_phrase_only: bool = False) -> bool:
    """The person-request detector's verdict (bot/nlu/person_request.py): its own bar, below
    the general confidence floor, or a phrase of its lexicon (`by_phrase_only`: only that)."""
    found = (tracker.latest_message or {}).get("person_request") or {}
    if by_phrase_only:
        return bool(found.get("phrase"))
    return bool(found.get("requested"))


def language(tracker: Tracker) -> dict[str, Any]:
    return (tracker.latest_message or {}).get("language") or {}


def foreign_language(tracker: Tracker) -> bool:
    """Written in a language the assistant does not answer (bot/nlu/language.py)."""
    return bool(language(tracker).get("foreign"))


def hand_over(dispatcher: CollectingDispatcher, tracker: Tracker, reason: str) -> list[EventType]:
    intent, confidence = top_intent(tracker)
    payload: dict[str, Any] = {
        "reason": reason,
        "intent": intent,
        "confidence": round(confidence, 4),
    }
    if foreign_language(tracker):
        # The bridge tells the customer in their language, and the card shows it.
        payload["language"] = str(language(tracker).get("code") or "")
    dispatcher.utter_message(json_message={"handoff": payload})
    return [SlotSet("misses", 0), SlotSet("last_answer", None)]
