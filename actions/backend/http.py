"""HTTP adapter for a real shop's API (COMMERCE_BACKEND=http, COMMERCE_API_URL=https://...,
COMMERCE_API_KEY). The contract is docs/commerce-api.yaml (OpenAPI 3.1); standins/shop serves
it locally for the tests.

Every order call names who is asking: `X-Customer-Id` for a customer the shop signed in, or
`X-Order-Secret` (the email or postcode a visitor gave) for that one order. 404 means no such
order for this requester, 409 {"reason"} that the shop refused the change, 429 too many failed
checks.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote

from actions.backend.base import (
    BackendError,
    Customer,
    NotFound,
    Order,
    OrderProof,
    Refund,
    Refused,
    Requester,
    TooManyAttempts,
)


class HttpBackend:
    def __init__(self, base_url: str, api_key: str, timeout: float = 5.0) -> None:
        self._base = base_url.rstrip("/")
        self._key = api_key
        self._timeout = timeout

    def _call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        requester: Requester | None = None,
    ) -> dict[str, Any]:
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Authorization": f"Bearer {self._key}",
        }
        if isinstance(requester, Customer):
            headers["X-Customer-Id"] = requester.id
        elif isinstance(requester, OrderProof):
            headers["X-Order-Secret"] = requester.secret
        request = urllib.request.Request(
            self._base + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers=headers,
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                raise NotFound(path) from exc
            if exc.code == 409:
                raise Refused(json.loads(exc.read() or b"{}").get("reason", "not allowed")) from exc
            if exc.code == 429:
                raise TooManyAttempts(path) from exc
            raise BackendError(f"{method} {path}: HTTP {exc.code}") from exc
        except (OSError, ValueError) as exc:
            raise BackendError(f"{method} {path}: {exc}") from exc

    def _order_path(self, number: str, requester: Requester) -> str:
        if isinstance(requester, OrderProof) and requester.number != number:
            raise NotFound(f"the proof is for order {requester.number}, not {number}")
        return f"/orders/{quote(number, safe='')}"

    def policy(self, topic: str) -> str:
        return self._call("GET", f"/policies/{quote(topic, safe='')}")["text"]

    def prove_order(self, number: str, secret: str, source: str) -> OrderProof:
        proof = OrderProof(number, secret)
        path = self._order_path(number, proof) + "/checks"
        self._call("POST", path, {"secret": secret, "source": source})
        return proof

    def order(self, number: str, requester: Requester) -> Order:
        return Order(**self._call("GET", self._order_path(number, requester), None, requester))

    def cancel_order(self, number: str, requester: Requester) -> Order:
        path = self._order_path(number, requester) + "/cancel"
        return Order(**self._call("POST", path, None, requester))

    def change_address(self, number: str, address: str, requester: Requester) -> Order:
        path = self._order_path(number, requester) + "/shipping-address"
        return Order(**self._call("PUT", path, {"address": address}, requester))

    def refund(self, number: str, requester: Requester) -> Refund:
        path = self._order_path(number, requester) + "/refund"
        return Refund(**self._call("GET", path, None, requester))

    def request_refund(self, number: str, requester: Requester) -> Refund:
        path = self._order_path(number, requester) + "/refund"
        return Refund(**self._call("POST", path, None, requester))

    def invoice_url(self, number: str, requester: Requester) -> str:
        path = self._order_path(number, requester) + "/invoice"
        return str(self._call("GET", path, None, requester)["url"])

    def unsubscribe(self, customer: Customer) -> None:
        path = f"/customers/{quote(customer.id, safe='')}/newsletter/unsubscribe"
        self._call("POST", path, None, customer)

    def send_unsubscribe_link(self, email: str) -> None:
        self._call("POST", "/newsletter/unsubscribe-links", {"email": email})

    def send_password_reset(self, email: str) -> None:
        self._call("POST", "/password-resets", {"email": email})
