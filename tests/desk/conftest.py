"""The staff desk's end-to-end tests share the session stack (tests/conftest.py)."""

from __future__ import annotations

from tests.e2e.conftest import browser

__all__ = ["browser"]
