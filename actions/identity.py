"""Who is asking, as the bridge tells Rasa in each message's metadata (docs/identity.md).

`customer`: the customer the shop signed in ({"id", "email", "name"}), or null. `source`: where
the message came from (a browser, a chat), which the shop uses to limit failed order checks.
Only the bridge can reach Rasa (it listens on loopback), so the metadata is the bridge's word.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

from actions.answers import Asking, Details
from actions.backend.base import Customer, OrderProof


def _metadata(tracker: Tracker) -> dict[str, Any]:
    metadata = (tracker.latest_message or {}).get("metadata")
    return metadata if isinstance(metadata, dict) else {}


def signed_in(tracker: Tracker) -> Customer | None:
    customer = _metadata(tracker).get("customer")
    if not isinstance(customer, dict) or not customer.get("id"):
        return None
    return Customer(str(customer["id"]), str(customer.get("email") or ""))


def source(tracker: Tracker) -> str:
    return str(_metadata(tracker).get("source") or f"conversation:{tracker.sender_id}")


def proven(tracker: Tracker) -> dict[str, str]:
    """Orders this conversation proved, by number: the email or postcode that opened each."""
    value = tracker.get_slot("proven")
    return dict(value) if isinstance(value, dict) else {}


def needs_proof(tracker: Tracker, details: Details) -> bool:
    """A visitor's request about an order they have not proved yet (in this request, under
    `details["proof"]`, or earlier in the conversation)."""
    if signed_in(tracker) is not None or details.get("proof"):
        return False
    return details.get("order_number", "") not in proven(tracker)


def asking(tracker: Tracker, details: Details) -> Asking:
    customer = signed_in(tracker)
    if customer is not None:
        return Asking(customer, customer)
    number = details.get("order_number", "")
    secret = details.get("proof") or proven(tracker).get(number)
    return Asking(None, OrderProof(number, secret) if secret else None)
