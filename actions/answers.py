"""What the assistant says for each intent it answers (bot/routing.yml `answer`).

Requests that need a detail (order number, new address, email) first ask for it; the pending
request is kept in the `pending` slot and completed by the customer's next message (see
actions/route.py). A request about an order runs only for its owner (actions/identity.py), and
a change (cancel, new address, refund) only after the customer said yes to what will change.
Customer-facing wording lives in domain.yml responses.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from rasa_sdk.executor import CollectingDispatcher

from actions import routing
from actions.backend import CommerceBackend, NotFound, Refused, get_backend
from actions.backend.base import Customer, Refund, Requester

ORDER_NUMBER = re.compile(r"\b(\d{4,15})\b")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
UNSUBSCRIBE = re.compile(
    r"\b(un-?sub\w*|stop|remove|opt(ed)?[ -]?out|no more|cancel|too many|don'?t want)\b", re.I
)
# What a customer gives to prove an order: an email, or a postcode (3-10 letters and digits,
# at least one digit, spaces or dashes inside).
POSTCODE = re.compile(r"^(?=.*\d)[A-Za-z0-9][A-Za-z0-9 -]{1,8}[A-Za-z0-9]$")

Details = dict[str, str]


@dataclass(frozen=True)
class Asking:
    """Who is asking: the customer the shop signed in (or None), and the requester the backend
    is told (that customer, or the visitor's proof of this one order)."""

    customer: Customer | None
    requester: Requester | None


Run = Callable[[CollectingDispatcher, CommerceBackend, Details, Asking], None]


@dataclass(frozen=True)
class Answer:
    needs: tuple[str, ...]  # details to collect first: order_number, address, email
    run: Run
    owned: bool = False  # about one order: only its owner may see or change it
    confirm: Run | None = None  # says what will change, with Yes/No, before `run`


def extract(kind: str, text: str) -> str | None:
    """A detail from free text; any non-empty reply counts as an address."""
    if kind == "order_number":
        match = ORDER_NUMBER.search(text)
        return match.group(1) if match else None
    if kind == "email":
        match = EMAIL.search(text)
        return match.group(0).lower() if match else None
    if kind == "proof":
        match = EMAIL.search(text)
        if match:
            return match.group(0).lower()
        words = text.strip()
        return words if POSTCODE.match(words) else None
    return text.strip() or None


def _response(name: str) -> Answer:
    return Answer((), lambda d, b, x, a: d.utter_message(response=name))


def _policy(topic: str) -> Answer:
    return Answer((), lambda d, b, x, a: d.utter_message(text=b.policy(topic)))


def _requester(asking: Asking) -> Requester:
    if asking.requester is None:
        raise NotFound("nobody is known to own this order")
    return asking.requester


def _order_status(d: CollectingDispatcher, b: CommerceBackend, x: Details, a: Asking) -> None:
    o = b.order(x["order_number"], _requester(a))
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


def _ask(response: str) -> Run:
    """The question before a change: the order as it is, and Yes/No."""

    def ask(d: CollectingDispatcher, b: CommerceBackend, x: Details, a: Asking) -> None:
        o = b.order(x["order_number"], _requester(a))
        d.utter_message(
            response=response,
            number=o.number,
            items=o.items,
            total=o.total,
            address=x.get("address", ""),
        )

    return ask


def _cancel(d: CollectingDispatcher, b: CommerceBackend, x: Details, a: Asking) -> None:
    o = b.cancel_order(x["order_number"], _requester(a))
    d.utter_message(response="utter_order_cancelled_now", number=o.number, total=o.total)


def _change_address(d: CollectingDispatcher, b: CommerceBackend, x: Details, a: Asking) -> None:
    o = b.change_address(x["order_number"], x["address"], _requester(a))
    d.utter_message(response="utter_address_changed", number=o.number, address=o.address)


def _refund_status(d: CollectingDispatcher, b: CommerceBackend, x: Details, a: Asking) -> None:
    who = _requester(a)
    b.order(x["order_number"], who)  # an unknown order is reported as such, not as "no refund"
    try:
        r = b.refund(x["order_number"], who)
    except NotFound:
        d.utter_message(response="utter_refund_none", number=x["order_number"])
        return
    _say_refund(d, r)


def _request_refund(d: CollectingDispatcher, b: CommerceBackend, x: Details, a: Asking) -> None:
    r = b.request_refund(x["order_number"], _requester(a))
    _say_refund(d, r, just_requested=True)


def _say_refund(d: CollectingDispatcher, r: Refund, just_requested: bool = False) -> None:
    response = "utter_refund_requested_now" if just_requested else f"utter_refund_{r.status}"
    d.utter_message(response=response, number=r.order_number, amount=r.amount, updated=r.updated)


def _invoice(d: CollectingDispatcher, b: CommerceBackend, x: Details, a: Asking) -> None:
    url = b.invoice_url(x["order_number"], _requester(a))
    d.utter_message(response="utter_invoice", number=x["order_number"], url=url)


def _payment(d: CollectingDispatcher, b: CommerceBackend, x: Details, a: Asking) -> None:
    o = b.order(x["order_number"], _requester(a))
    d.utter_message(response=f"utter_payment_{o.payment}", number=o.number, total=o.total)


def _password_reset(d: CollectingDispatcher, b: CommerceBackend, x: Details, a: Asking) -> None:
    # The link goes by email, never through the chat, and the words are the same whether the
    # address has an account or not.
    email = a.customer.email if a.customer is not None else x["email"]
    b.send_password_reset(email)
    d.utter_message(response="utter_password_reset", email=email)


def _unsubscribe(d: CollectingDispatcher, b: CommerceBackend, x: Details, a: Asking) -> None:
    if a.customer is not None:  # their own address, at once
        b.unsubscribe(a.customer)
        d.utter_message(response="utter_unsubscribed", email=a.customer.email)
        return
    # Anyone can type an address: its owner confirms by email.
    b.send_unsubscribe_link(x["email"])
    d.utter_message(response="utter_unsubscribe_link_sent", email=x["email"])


def _order(run: Run, confirm: str | None = None, needs: tuple[str, ...] = ()) -> Answer:
    return Answer(
        ("order_number", *needs), run, owned=True, confirm=_ask(confirm) if confirm else None
    )


# The answers that need code: a request about an order or an account asks for details, checks
# who is asking, and changes something in the shop. bot/routing.yml names them `code`; every
# other answered intent is declared there alone, with the response or policy it says.
CODED: dict[str, Answer] = {
    "track_order": _order(_order_status),
    "cancel_order": _order(_cancel, confirm="utter_confirm_cancel"),
    "change_shipping_address": _order(
        _change_address, confirm="utter_confirm_address", needs=("address",)
    ),
    "track_refund": _order(_refund_status),
    "get_refund": _order(_request_refund, confirm="utter_confirm_refund"),
    "check_invoice": _order(_invoice),
    "get_invoice": _order(_invoice),
    "payment_issue": _order(_payment),
    "recover_password": Answer(("email",), _password_reset),
    "unsubscribe": Answer(("email",), _unsubscribe),
    "subscribe": _policy("subscribe"),
}

# An intent that covers two requests, told apart by its words: (pattern, the request when it
# matches, the request otherwise). Unsubscribing must take one step.
SPLIT: dict[str, tuple[re.Pattern[str], str, str]] = {
    "newsletter_subscription": (UNSUBSCRIBE, "unsubscribe", "subscribe"),
}


def declared(answers: dict[str, str]) -> dict[str, Answer]:
    """The answers bot/routing.yml declares with words: `utter_<name>` says that response of
    domain.yml, `policy <topic>` the shop's text on it (`code` ones are in CODED)."""
    out: dict[str, Answer] = {}
    for intent, how in answers.items():
        kind, _, topic = how.partition(" ")
        if kind.startswith("utter_") and not topic:
            out[intent] = _response(kind)
        elif kind == "policy" and topic.strip():
            out[intent] = _policy(topic.strip())
    return out


# Every answer, by the intent (or request of a SPLIT intent) it answers.
ANSWERS: dict[str, Answer] = {**declared(routing.load().answers), **CODED}


def resolve_intent(intent: str, text: str) -> str:
    """The request of a SPLIT intent (newsletter_subscription: subscribe or unsubscribe)."""
    if intent in SPLIT:
        pattern, matched, otherwise = SPLIT[intent]
        return matched if pattern.search(text) else otherwise
    return intent


def answer(
    key: str, details: Details, asking: Asking, dispatcher: CollectingDispatcher, ask: bool
) -> None:
    """Run the answer for `key` with all its details present; `ask`: only ask to confirm it.

    Raises KeyError for a key with no answer and BackendError when the backend fails; a
    refusal or an order the asker cannot see is explained to the customer.
    """
    spec = ANSWERS[key]
    run = spec.confirm if ask and spec.confirm is not None else spec.run
    try:
        run(dispatcher, get_backend(), details, asking)
    except Refused as exc:
        dispatcher.utter_message(response="utter_refused", reason=exc.reason)
    except NotFound:
        if "order_number" not in details:
            raise
        dispatcher.utter_message(response="utter_order_not_found", number=details["order_number"])
