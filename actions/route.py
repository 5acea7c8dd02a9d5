"""action_route: the bot's single decision point, applying bot/routing.yml to each message."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import handoff, routing
from actions.answers import answer
from actions.backend import BackendError

log = logging.getLogger(__name__)

MISSES_BEFORE_HANDOFF = 2


class ActionRoute(Action):
    def name(self) -> str:
        return "action_route"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        table = routing.load()
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        outcome = table.outcome(intent)
        if outcome == "handoff":
            return handoff.hand_over(dispatcher, tracker, table.handoff[intent])
        if outcome == "abstain":
            return abstain(dispatcher, tracker)
        try:
            events = answer(intent, dispatcher, tracker)
        except BackendError as exc:
            log.warning("backend could not answer %s: %s", intent, exc)
            dispatcher.messages.clear()  # a handoff turn carries no customer-facing text
            return handoff.hand_over(dispatcher, tracker, handoff.BACKEND_FAILED)
        return [SlotSet("misses", 0), *events]


def abstain(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    misses = int(tracker.get_slot("misses") or 0) + 1
    if misses >= MISSES_BEFORE_HANDOFF:
        return handoff.hand_over(dispatcher, tracker, handoff.REPEATED_MISS)
    dispatcher.utter_message(response="utter_abstain")
    return [SlotSet("misses", misses)]
