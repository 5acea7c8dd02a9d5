"""Identity tests share the session stack and the browser (tests/conftest.py, tests/e2e)."""

from __future__ import annotations

from tests.e2e.conftest import browser

__all__ = ["browser"]
