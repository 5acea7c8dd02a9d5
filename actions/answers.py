"""What the assistant says for each intent it answers (routing.yml `answer`)."""

from __future__ import annotations

from collections.abc import Callable

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.backend import BackendError, get_backend

Handler = Callable[[CollectingDispatcher, Tracker], list[EventType]]


def _response(name: str) -> Handler:
    def handler(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        dispatcher.utter_message(response=name)
        return []

    return handler


def _policy(topic: str) -> Handler:
    def handler(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        dispatcher.utter_message(text=get_backend().policy(topic))
        return []

    return handler


HANDLERS: dict[str, Handler] = {
    "greet": _response("utter_greet"),
    "goodbye": _response("utter_goodbye"),
    "thank_you": _response("utter_thank_you"),
    "check_payment_methods": _policy("payment_methods"),
    "delivery_options": _policy("delivery_options"),
    "delivery_period": _policy("delivery_period"),
    "check_cancellation_fee": _policy("cancellation_fee"),
    "check_refund_policy": _policy("refund_policy"),
}


def answer(intent: str, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """Answer `intent`; BackendError when it cannot be resolved here."""
    handler = HANDLERS.get(intent)
    if handler is None:
        raise BackendError(f"no handler for {intent}")
    return handler(dispatcher, tracker)
