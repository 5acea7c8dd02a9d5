"""The one small interface every commerce backend implements."""

from __future__ import annotations

from typing import Protocol


class BackendError(Exception):
    """The backend could not complete the request; the conversation goes to a person."""


class CommerceBackend(Protocol):
    def policy(self, topic: str) -> str:
        """Customer-facing text of a shop policy (payment_methods, delivery_options, ...)."""
        ...
