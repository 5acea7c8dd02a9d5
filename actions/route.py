"""action_route: the bot's single decision point, applying bot/routing.yml to each message.

A request about an order from a customer the shop has not signed in first asks for the email or
postcode on that order (actions/identity.py); a change asks "yes or no?" before it is made.

Before anything else, at any turn (issue 15): a request for a person, by its own detector and
bar (bot/nlu/person_request.py), hands over; so does a message in a language the assistant does
not answer (bot/nlu/language.py). A follow-up keeps the topic of the last answer ("and
10236?"), and an answer the customer says did not help, or would only be said again, goes to a
person instead (actions/followup.py).
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import followup, handoff, identity, routing
from actions.answers import ANSWERS, Details, answer, extract, resolve_intent
from actions.backend import BackendError, NotFound, get_backend
from actions.backend.base import TooManyAttempts

log = logging.getLogger(__name__)

MISSES_BEFORE_HANDOFF = 2
# Failed order checks one conversation may make; then it gets no more tries (the shop also
# limits them per source, across conversations).
PROOF_TRIES = 3
STOP_INTENT = "stop"
AFFIRM, DENY = "affirm", "deny"
CONFIRM = "confirm"  # the awaited "detail" of a change: the customer's yes
ASK = {
    "order_number": "utter_ask_order_number",
    "address": "utter_ask_address",
    "email": "utter_ask_email",
    "proof": "utter_ask_proof",
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
        awaited = _awaited_kind(pending, tracker) if pending else ""
        # The very detail we asked for ("ana@example.com", "10234") is an answer, not a request
        # for a person, whatever a classifier made of it; a phrase of the lexicon still is.
        detail = bool(pending) and awaited != CONFIRM and _is_short_detail(awaited, text)

        if handoff.person_requested(tracker, by_phrase_only=detail):
            return [*handoff.hand_over(dispatcher, tracker, handoff.EXPLICIT_REQUEST), *_clear()]
        if handoff.foreign_language(tracker) and not detail:
            return [*handoff.hand_over(dispatcher, tracker, handoff.LANGUAGE), *_clear()]
        if pending and intent == STOP_INTENT:
            dispatcher.utter_message(response="utter_stopped")
            return _clear()
        if awaited == CONFIRM and intent in (AFFIRM, DENY):
            return _confirmed(dispatcher, tracker, pending, intent == AFFIRM)
        # A short reply carrying the awaited detail answers our question whatever the
        # classifier made of it.
        if detail:
            return _reply(dispatcher, tracker, pending, text)
        if outcome == "handoff":
            reason = followup.handoff_reason(table.handoff[intent], tracker)
            return [*handoff.hand_over(dispatcher, tracker, reason), *_clear()]
        last = followup.topic_of(tracker, text, outcome)
        if last is not None:
            return _proceed(dispatcher, tracker, last, {}, text)
        # Other replies are usually out of scope for the classifier; any text answers
        # "what's the new address?".
        if pending and awaited != CONFIRM and (outcome == "abstain" or awaited == "address"):
            return _reply(dispatcher, tracker, pending, text)
        if outcome == "abstain":
            return [*_clear(), *abstain(dispatcher, tracker)]
        # A confident in-scope message starts afresh, even in the middle of a question (an
        # unanswered "yes or no?" changes nothing).
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


def _awaited(key: str, details: Details, tracker: Tracker) -> list[str]:
    """The details `key` still needs, in the order they are asked for."""
    spec = ANSWERS[key]
    missing = [kind for kind in spec.needs if kind not in details]
    if spec.owned and "order_number" in details and identity.needs_proof(tracker, details):
        missing.insert(0, "proof")
    if spec.confirm is not None and not missing and CONFIRM not in details:
        missing.append(CONFIRM)
    return missing


def _awaited_kind(pending: str, tracker: Tracker) -> str:
    awaited = _awaited(pending, dict(tracker.get_slot("details") or {}), tracker)
    return awaited[0] if awaited else ""


def _is_short_detail(kind: str, text: str) -> bool:
    return (
        kind not in ("address", "") and len(text.split()) <= 4 and extract(kind, text) is not None
    )


def _reply(
    dispatcher: CollectingDispatcher, tracker: Tracker, pending: str, text: str
) -> list[EventType]:
    details = dict(tracker.get_slot("details") or {})
    kind = _awaited(pending, details, tracker)[0]
    value = extract(kind, text)
    if value is None:
        # No second "please enter your order number": a reply we can't use is a miss.
        return [*_clear(), *abstain(dispatcher, tracker)]
    if kind == "proof":
        return _prove(dispatcher, tracker, pending, details, value)
    details[kind] = value
    return _proceed(dispatcher, tracker, pending, details, "")


def _prove(
    dispatcher: CollectingDispatcher, tracker: Tracker, pending: str, details: Details, secret: str
) -> list[EventType]:
    """The visitor's email or postcode for the order: it opens that order, or counts as a
    failed try. The answer is the same for an order that does not exist and one that is not
    theirs."""
    failures = int(tracker.get_slot("proof_failures") or 0)
    try:
        get_backend().prove_order(details["order_number"], secret, identity.source(tracker))
    except TooManyAttempts:
        return [*_clear(), *_no_more_tries(dispatcher, PROOF_TRIES)]
    except NotFound:
        failures += 1
        if failures >= PROOF_TRIES:
            return [*_clear(), *_no_more_tries(dispatcher, failures)]
        dispatcher.utter_message(response="utter_proof_failed")
        return [*_clear(), SlotSet("proof_failures", failures)]
    proven = {**identity.proven(tracker), details["order_number"]: secret}
    details = {**details, "proof": secret}
    return [SlotSet("proven", proven), *_proceed(dispatcher, tracker, pending, details, "")]


def _no_more_tries(dispatcher: CollectingDispatcher, failures: int) -> list[EventType]:
    dispatcher.utter_message(response="utter_proof_blocked")
    return [SlotSet("proof_failures", failures)]


def _confirmed(
    dispatcher: CollectingDispatcher, tracker: Tracker, pending: str, yes: bool
) -> list[EventType]:
    if not yes:
        dispatcher.utter_message(response="utter_not_changed")
        return _clear()
    details = {**dict(tracker.get_slot("details") or {}), CONFIRM: "yes"}
    return _proceed(dispatcher, tracker, pending, details, "")


def _proceed(
    dispatcher: CollectingDispatcher, tracker: Tracker, key: str, details: Details, text: str
) -> list[EventType]:
    if key not in ANSWERS:
        log.warning("no answer for %s", key)
        return handoff.hand_over(dispatcher, tracker, handoff.BACKEND_FAILED)
    spec = ANSWERS[key]
    customer = identity.signed_in(tracker)
    if customer is not None and customer.email and "email" in spec.needs:
        details.setdefault("email", customer.email)  # a signed-in customer's own address
    missing = _awaited(key, details, tracker)
    # The message that starts a request may carry its first detail ("track order 10234").
    if missing and missing[0] not in ("address", "proof", CONFIRM):
        if (value := extract(missing[0], text)) is not None:
            details[missing[0]] = value
            missing = _awaited(key, details, tracker)
    if missing and missing[0] == "proof" and _blocked(tracker):
        return [*_clear(), *_no_more_tries(dispatcher, PROOF_TRIES)]
    if missing and missing[0] != CONFIRM:
        params = {"number": details.get("order_number", "")}
        dispatcher.utter_message(response=ASK[missing[0]], **params)
        return [SlotSet("misses", 0), SlotSet("pending", key), SlotSet("details", details)]
    if followup.would_repeat(tracker, key, details):
        # The same answer again would not help: a person looks at it instead.
        return [*handoff.hand_over(dispatcher, tracker, handoff.NOT_RESOLVED), *_clear()]
    asking = identity.asking(tracker, details)
    try:
        answer(key, details, asking, dispatcher, ask=bool(missing))
    except BackendError as exc:
        log.warning("backend could not complete %s: %s", key, exc)
        dispatcher.messages.clear()  # a handoff turn carries no customer-facing text
        return [*handoff.hand_over(dispatcher, tracker, handoff.BACKEND_FAILED), *_clear()]
    if missing and _asked_to_confirm(dispatcher, spec.confirm is not None):
        return [SlotSet("misses", 0), SlotSet("pending", key), SlotSet("details", details)]
    return [SlotSet("misses", 0), *_clear(), followup.answered(key, details)]


def _asked_to_confirm(dispatcher: CollectingDispatcher, confirmable: bool) -> bool:
    """The question went out (not a refusal, nor "I can't find that order")."""
    said = [m.get("response") or "" for m in dispatcher.messages]
    return confirmable and any(r.startswith("utter_confirm_") for r in said)


def _blocked(tracker: Tracker) -> bool:
    return int(tracker.get_slot("proof_failures") or 0) >= PROOF_TRIES


def _clear() -> list[EventType]:
    return [SlotSet("pending", None), SlotSet("details", None)]


def abstain(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    misses = int(tracker.get_slot("misses") or 0) + 1
    if misses >= MISSES_BEFORE_HANDOFF:
        return handoff.hand_over(dispatcher, tracker, handoff.REPEATED_MISS)
    dispatcher.utter_message(response="utter_abstain")
    return [SlotSet("misses", misses)]
