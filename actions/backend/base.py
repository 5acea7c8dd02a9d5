"""The one small interface every commerce backend implements, and the records it returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class BackendError(Exception):
    """The backend could not complete the request; the conversation goes to a person."""


class NotFound(BackendError):
    """No such order (or no refund for it); the customer may have mistyped the number."""


class Refused(Exception):
    """The shop's rules forbid the change; `reason` is shown to the customer."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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

    def order(self, number: str) -> Order:
        """Raises NotFound."""

    def cancel_order(self, number: str) -> Order:
        """Cancel an unshipped order; raises Refused for a shipped one."""

    def change_address(self, number: str, address: str) -> Order:
        """Change the shipping address of an unshipped order; raises Refused otherwise."""

    def refund(self, number: str) -> Refund:
        """Refund status of an order; raises NotFound when none was requested."""

    def request_refund(self, number: str) -> Refund:
        """Open a refund for a delivered order; raises Refused when not eligible."""

    def invoice_url(self, number: str) -> str:
        """Download link of the order's invoice."""

    def unsubscribe(self, email: str) -> None:
        """Remove the address from the newsletter, at once."""

    def password_reset_url(self, email: str) -> str:
        """Send (and return) a single-use password-reset link."""
