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


def hand_over(dispatcher: CollectingDispatcher, tracker: Tracker, reason: str) -> list[EventType]:
    intent, confidence = top_intent(tracker)
    dispatcher.utter_message(
        json_message={
            "handoff": {"reason": reason, "intent": intent, "confidence": round(confidence, 4)}
        }
    )
    return [SlotSet("misses", 0)]
