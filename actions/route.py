"""action_route: the bot's single decision point, applying bot/routing.yml to each message."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import handoff, routing
from actions.answers import ANSWERS, answer, extract, resolve_intent
from actions.backend import BackendError

log = logging.getLogger(__name__)

MISSES_BEFORE_HANDOFF = 2
STOP_INTENT = "stop"
ASK = {
    "order_number": "utter_ask_order_number",
    "address": "utter_ask_address",
    "email": "utter_ask_email",
}


class ActionRoute(Action):
    def name(self) -> str:
        return "action_route"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        events = self._decide(dispatcher, tracker)
        # For the bridge (review, topic spikes; docs/learning.md): never shown to the customer.
        dispatcher.utter_message(json_message={"turn": turn_summary(dispatcher, tracker)})
        return events

    def _decide(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        table = routing.load()
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        text = tracker.latest_message.get("text") or ""
        outcome = table.outcome(intent)
        pending = tracker.get_slot("pending")

        if pending and intent == STOP_INTENT:
            dispatcher.utter_message(response="utter_stopped")
            return _clear()
        # A short reply carrying the awaited detail ("ana@example.com", "10234") answers our
        # question whatever the classifier made of it.
        if pending and _is_short_detail(_awaited_kind(pending, tracker), text):
            return _reply(dispatcher, tracker, pending, text)
        if outcome == "handoff":
            return [*handoff.hand_over(dispatcher, tracker, table.handoff[intent]), *_clear()]
        # Other replies are usually out of scope for the classifier; any text answers
        # "what's the new address?".
        if pending and (outcome == "abstain" or _awaited_kind(pending, tracker) == "address"):
            return _reply(dispatcher, tracker, pending, text)
        if outcome == "abstain":
            return abstain(dispatcher, tracker)
        # A confident in-scope message starts afresh, even in the middle of a question.
        return _proceed(dispatcher, tracker, resolve_intent(intent, text), {}, text)


def turn_summary(dispatcher: CollectingDispatcher, tracker: Tracker) -> dict[str, Any]:
    """What this turn did, read from what it is about to say: a handoff payload, the abstain
    reply, or anything else (an answer or a question back)."""
    said = dispatcher.messages
    if any("handoff" in (m.get("custom") or {}) for m in said):
        outcome = "handoff"
    elif any(m.get("response") == "utter_abstain" for m in said):
        outcome = "abstain"
    else:
        outcome = "answer"
    intent, confidence = handoff.top_intent(tracker)
    return {
        "intent": intent,
        "confidence": round(confidence, 4),
        "outcome": outcome,
        "awaiting": bool(tracker.get_slot("pending")),
    }


def _awaited(key: str, details: dict[str, str]) -> list[str]:
    return [kind for kind in ANSWERS[key].needs if kind not in details]


def _awaited_kind(pending: str, tracker: Tracker) -> str:
    return _awaited(pending, dict(tracker.get_slot("details") or {}))[0]


def _is_short_detail(kind: str, text: str) -> bool:
    return kind != "address" and len(text.split()) <= 4 and extract(kind, text) is not None


def _reply(
    dispatcher: CollectingDispatcher, tracker: Tracker, pending: str, text: str
) -> list[EventType]:
    details = dict(tracker.get_slot("details") or {})
    kind = _awaited(pending, details)[0]
    value = extract(kind, text)
    if value is None:
        # No second "please enter your order number": a reply we can't use is a miss.
        return [*_clear(), *abstain(dispatcher, tracker)]
    details[kind] = value
    return _proceed(dispatcher, tracker, pending, details, "")


def _proceed(
    dispatcher: CollectingDispatcher, tracker: Tracker, key: str, details: dict[str, str], text: str
) -> list[EventType]:
    if key not in ANSWERS:
        log.warning("no answer for %s", key)
        return handoff.hand_over(dispatcher, tracker, handoff.BACKEND_FAILED)
    missing = _awaited(key, details)
    # The message that starts a request may carry its first detail ("track order 10234").
    if missing and missing[0] != "address" and (value := extract(missing[0], text)) is not None:
        details[missing[0]] = value
        missing = missing[1:]
    if missing:
        dispatcher.utter_message(response=ASK[missing[0]])
        return [SlotSet("misses", 0), SlotSet("pending", key), SlotSet("details", details)]
    try:
        answer(key, details, dispatcher)
    except BackendError as exc:
        log.warning("backend could not complete %s: %s", key, exc)
        dispatcher.messages.clear()  # a handoff turn carries no customer-facing text
        return [*handoff.hand_over(dispatcher, tracker, handoff.BACKEND_FAILED), *_clear()]
    return [SlotSet("misses", 0), *_clear()]


def _clear() -> list[EventType]:
    return [SlotSet("pending", None), SlotSet("details", None)]


def abstain(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    misses = int(tracker.get_slot("misses") or 0) + 1
    if misses >= MISSES_BEFORE_HANDOFF:
        return handoff.hand_over(dispatcher, tracker, handoff.REPEATED_MISS)
    dispatcher.utter_message(response="utter_abstain")
    return [SlotSet("misses", misses)]
