"""What the assistant says for each intent it answers (routing.yml `answer`).

Requests that need a detail (order number, new address, email) first ask for it; the
pending request is kept in the `pending` slot and completed by the customer's next message
(see actions/route.py). Customer-facing wording lives in bot/domain.yml responses.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from rasa_sdk.executor import CollectingDispatcher

from actions.backend import CommerceBackend, NotFound, Refused, get_backend
from actions.backend.base import Refund

ORDER_NUMBER = re.compile(r"\b(\d{4,15})\b")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
UNSUBSCRIBE = re.compile(
    r"\b(un-?sub\w*|stop|remove|opt(ed)?[ -]?out|no more|cancel|too many|don'?t want)\b", re.I
)

Details = dict[str, str]


@dataclass(frozen=True)
class Answer:
    needs: tuple[str, ...]  # details to collect first: order_number, address, email
    run: Callable[[CollectingDispatcher, CommerceBackend, Details], None]


def extract(kind: str, text: str) -> str | None:
    """A detail from free text; any non-empty reply counts as an address."""
    if kind == "order_number":
        match = ORDER_NUMBER.search(text)
        return match.group(1) if match else None
    if kind == "email":
        match = EMAIL.search(text)
        return match.group(0).lower() if match else None
    return text.strip() or None


def _response(name: str) -> Answer:
    return Answer((), lambda d, b, x: d.utter_message(response=name))


def _policy(topic: str) -> Answer:
    return Answer((), lambda d, b, x: d.utter_message(text=b.policy(topic)))


def _order_status(d: CollectingDispatcher, b: CommerceBackend, x: Details) -> None:
    o = b.order(x["order_number"])
    if o.status == "shipped":
        d.utter_message(
            response="utter_order_shipped",
            number=o.number,
            carrier=o.carrier,
            eta=o.eta,
            tracking_url=o.tracking_url,
        )
    else:
        d.utter_message(
            response=f"utter_order_{o.status}", number=o.number, items=o.items, eta=o.eta
        )


def _cancel(d: CollectingDispatcher, b: CommerceBackend, x: Details) -> None:
    o = b.cancel_order(x["order_number"])
    d.utter_message(response="utter_order_cancelled_now", number=o.number, total=o.total)


def _change_address(d: CollectingDispatcher, b: CommerceBackend, x: Details) -> None:
    o = b.change_address(x["order_number"], x["address"])
    d.utter_message(response="utter_address_changed", number=o.number, address=o.address)


def _refund_status(d: CollectingDispatcher, b: CommerceBackend, x: Details) -> None:
    b.order(x["order_number"])  # an unknown order is reported as such, not as "no refund"
    try:
        r = b.refund(x["order_number"])
    except NotFound:
        d.utter_message(response="utter_refund_none", number=x["order_number"])
        return
    _say_refund(d, r)


def _request_refund(d: CollectingDispatcher, b: CommerceBackend, x: Details) -> None:
    r = b.request_refund(x["order_number"])
    _say_refund(d, r)


def _say_refund(d: CollectingDispatcher, r: Refund) -> None:
    d.utter_message(
        response=f"utter_refund_{r.status}",
        number=r.order_number,
        amount=r.amount,
        updated=r.updated,
    )


def _invoice(d: CollectingDispatcher, b: CommerceBackend, x: Details) -> None:
    d.utter_message(
        response="utter_invoice", number=x["order_number"], url=b.invoice_url(x["order_number"])
    )


def _payment(d: CollectingDispatcher, b: CommerceBackend, x: Details) -> None:
    o = b.order(x["order_number"])
    d.utter_message(response=f"utter_payment_{o.payment}", number=o.number, total=o.total)


def _password_reset(d: CollectingDispatcher, b: CommerceBackend, x: Details) -> None:
    d.utter_message(response="utter_password_reset", url=b.password_reset_url(x["email"]))


def _unsubscribe(d: CollectingDispatcher, b: CommerceBackend, x: Details) -> None:
    b.unsubscribe(x["email"])
    d.utter_message(response="utter_unsubscribed", email=x["email"])


ANSWERS: dict[str, Answer] = {
    "greet": _response("utter_greet"),
    "goodbye": _response("utter_goodbye"),
    "thank_you": _response("utter_thank_you"),
    "stop": _response("utter_stopped"),
    "check_payment_methods": _policy("payment_methods"),
    "delivery_options": _policy("delivery_options"),
    "delivery_period": _policy("delivery_period"),
    "check_cancellation_fee": _policy("cancellation_fee"),
    "check_refund_policy": _policy("refund_policy"),
    "place_order": _policy("place_order"),
    "create_account": _policy("create_account"),
    "edit_account": _policy("edit_account"),
    "switch_account": _policy("switch_account"),
    "delete_account": _policy("delete_account"),
    "registration_problems": _policy("registration_problems"),
    "set_up_shipping_address": _policy("set_up_shipping_address"),
    "review": _policy("review"),
    "track_order": Answer(("order_number",), _order_status),
    "cancel_order": Answer(("order_number",), _cancel),
    "change_shipping_address": Answer(("order_number", "address"), _change_address),
    "track_refund": Answer(("order_number",), _refund_status),
    "get_refund": Answer(("order_number",), _request_refund),
    "check_invoice": Answer(("order_number",), _invoice),
    "get_invoice": Answer(("order_number",), _invoice),
    "payment_issue": Answer(("order_number",), _payment),
    "recover_password": Answer(("email",), _password_reset),
    "unsubscribe": Answer(("email",), _unsubscribe),
    "subscribe": _policy("subscribe"),
}


def resolve_intent(intent: str, text: str) -> str:
    """newsletter_subscription covers both directions; unsubscribing must take one step."""
    if intent == "newsletter_subscription":
        return "unsubscribe" if UNSUBSCRIBE.search(text) else "subscribe"
    return intent


def answer(key: str, details: Details, dispatcher: CollectingDispatcher) -> None:
    """Run the answer for `key` with all its details present.

    Raises KeyError for a key with no answer and BackendError when the backend fails; a
    refusal or unknown order is explained to the customer.
    """
    spec = ANSWERS[key]
    try:
        spec.run(dispatcher, get_backend(), details)
    except Refused as exc:
        dispatcher.utter_message(response="utter_refused", reason=exc.reason)
    except NotFound:
        if "order_number" not in details:
            raise
        dispatcher.utter_message(response="utter_order_not_found", number=details["order_number"])
