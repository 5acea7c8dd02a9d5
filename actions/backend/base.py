"""The one small interface every commerce backend implements, and the records it returns.

Every call about an order says who is asking (`Requester`): a customer the shop itself signed
in, or a visitor who proved one order by its number and the email or postcode on it. A backend
answers NotFound for an order that is not the requester's, exactly as for one that does not
exist, so order numbers cannot be probed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class BackendError(Exception):
    """The backend could not complete the request; the conversation goes to a person."""


class NotFound(BackendError):
    """No such order for this requester (or no refund for it)."""


class TooManyAttempts(BackendError):
    """Too many failed order checks from this source: no more tries for a while."""


class Refused(Exception):
    """The shop's rules forbid the change; `reason` is shown to the customer."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Customer:
    """A customer the shop signed in (widget identity, linked Telegram chat)."""

    id: str
    email: str


@dataclass(frozen=True)
class OrderProof:
    """A visitor who showed they know one order: its number and the email or postcode on it.
    It opens that order only."""

    number: str
    secret: str  # the email or the postcode, as the customer gave it


Requester = Customer | OrderProof


@dataclass(frozen=True)
class Order:
    number: str
    status: str  # processing | shipped | delivered | cancelled
    items: str
    total: str
    address: str
    carrier: str | None
    tracking_url: str | None
    eta: str | None
    payment: str  # paid | failed | refunded


@dataclass(frozen=True)
class Refund:
    order_number: str
    status: str  # requested | approved | paid | rejected
    amount: str
    updated: str


class CommerceBackend(Protocol):
    def policy(self, topic: str) -> str:
        """Customer-facing text of a shop policy (payment_methods, delivery_options, ...)."""

    def prove_order(self, number: str, secret: str, source: str) -> OrderProof:
        """Check that `secret` (an email or a postcode) is on order `number`. Raises NotFound
        when it is not (or there is no such order) and TooManyAttempts when `source` (a
        browser, a chat) has failed too often; both look the same to the customer."""

    def order(self, number: str, requester: Requester) -> Order:
        """Raises NotFound, also for another customer's order."""

    def cancel_order(self, number: str, requester: Requester) -> Order:
        """Cancel an unshipped order and email the confirmation; raises Refused once shipped."""

    def change_address(self, number: str, address: str, requester: Requester) -> Order:
        """Change the address of an unshipped order and email the confirmation."""

    def refund(self, number: str, requester: Requester) -> Refund:
        """Refund status of an order; raises NotFound when none was requested."""

    def request_refund(self, number: str, requester: Requester) -> Refund:
        """Open a refund for a delivered order and email the confirmation."""

    def invoice_url(self, number: str, requester: Requester) -> str:
        """Download link of the order's invoice."""

    def unsubscribe(self, customer: Customer) -> None:
        """Remove the signed-in customer's own address from the newsletter, at once."""

    def send_unsubscribe_link(self, email: str) -> None:
        """Email a one-click unsubscribe link to `email`, if it is on the list (silently
        nothing otherwise: the answer must not say who is a customer)."""

    def send_password_reset(self, email: str) -> None:
        """Email a single-use reset link to `email`, if it has an account (silently nothing
        otherwise). The link never goes through the chat."""
