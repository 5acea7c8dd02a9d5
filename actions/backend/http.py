"""HTTP adapter for a real shop's API (COMMERCE_BACKEND=http, COMMERCE_API_URL=https://...).

Expected endpoints (JSON): GET /policies/{topic} -> {"text"}; GET /orders/{n} -> Order fields;
POST /orders/{n}/cancel; PUT /orders/{n}/shipping-address {"address"}; GET|POST
/orders/{n}/refund -> Refund fields; GET /orders/{n}/invoice -> {"url"};
POST /newsletter/unsubscribe {"email"}; POST /password-reset {"email"} -> {"url"}.
404 means not found, 409 {"reason"} means the shop refused the change.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote

from actions.backend.base import BackendError, NotFound, Order, Refund, Refused


class HttpBackend:
    def __init__(self, base_url: str, timeout: float = 5.0) -> None:
        self._base = base_url.rstrip("/")
        self._timeout = timeout

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        request = urllib.request.Request(
            self._base + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                raise NotFound(path) from exc
            if exc.code == 409:
                raise Refused(json.loads(exc.read() or b"{}").get("reason", "not allowed")) from exc
            raise BackendError(f"{method} {path}: HTTP {exc.code}") from exc
        except (OSError, ValueError) as exc:
            raise BackendError(f"{method} {path}: {exc}") from exc

    def _order_path(self, number: str) -> str:
        return f"/orders/{quote(number, safe='')}"

    def policy(self, topic: str) -> str:
        return self._call("GET", f"/policies/{quote(topic, safe='')}")["text"]

    def order(self, number: str) -> Order:
        return Order(**self._call("GET", self._order_path(number)))

    def cancel_order(self, number: str) -> Order:
        return Order(**self._call("POST", self._order_path(number) + "/cancel"))

    def change_address(self, number: str, address: str) -> Order:
        return Order(
            **self._call(
                "PUT", self._order_path(number) + "/shipping-address", {"address": address}
            )
        )

    def refund(self, number: str) -> Refund:
        return Refund(**self._call("GET", self._order_path(number) + "/refund"))

    def request_refund(self, number: str) -> Refund:
        return Refund(**self._call("POST", self._order_path(number) + "/refund"))

    def invoice_url(self, number: str) -> str:
        return self._call("GET", self._order_path(number) + "/invoice")["url"]

    def unsubscribe(self, email: str) -> None:
        self._call("POST", "/newsletter/unsubscribe", {"email": email})

    def password_reset_url(self, email: str) -> str:
        return self._call("POST", "/password-reset", {"email": email})["url"]
