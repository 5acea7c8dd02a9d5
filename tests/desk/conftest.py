"""The staff desk's end-to-end tests run twice: over Slack's Events API (the session stack,
tests/conftest.py) and over Socket Mode (a second bridge that no platform can call)."""

from __future__ import annotations

import pytest

from devstack.stack import Stack
from tests.conftest import STACK_MODES, either_stack
from tests.e2e.conftest import browser

__all__ = ["browser"]


@pytest.fixture(scope="session", params=STACK_MODES)
def stack(request: pytest.FixtureRequest) -> Stack:
    return either_stack(request)
