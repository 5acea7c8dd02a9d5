"""Fixtures that start real components: Redis, Rasa, the action server, stand-ins, the bridge."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.rundir import exclusive_run_dir
from devstack.stack import ONE_ADDRESS_FOR_MANY_CUSTOMERS, Stack

ARTIFACTS = Path(__file__).parent / ".artifacts"
_chat_ids = itertools.count(1000)


@pytest.fixture(scope="session")
def stack(public_url_stack: Stack) -> Stack:
    """The whole product on loopback, on free ports, with its own Redis server (suites that run
    over both ways of reaching the bridge override this: tests/desk/conftest.py)."""
    return public_url_stack


@pytest.fixture(scope="session")
def public_url_stack() -> Iterator[Stack]:
    """The stack that Slack and Telegram call (the Events API and a webhook)."""
    with exclusive_run_dir(ARTIFACTS / "stack") as run_dir:
        run = Stack(run_dir, bridge_env=ONE_ADDRESS_FOR_MANY_CUSTOMERS)
        try:
            run.start()
            yield run
        finally:
            run.stop()


@pytest.fixture(scope="session")
def no_public_url_stack(public_url_stack: Stack) -> Iterator[Stack]:
    """A second bridge that no platform can call: Slack reaches it over Socket Mode and it polls
    Telegram. It shares the first stack's Rasa and action server (conversation ids never
    collide: chat ids are unique per session, widget ids random); its Redis and stand-ins are
    its own."""
    with exclusive_run_dir(ARTIFACTS / "no-public-url") as run_dir:
        run = Stack(
            run_dir,
            bridge_env=ONE_ADDRESS_FOR_MANY_CUSTOMERS,
            slack_mode="socket",
            telegram_mode="polling",
            rasa_of=public_url_stack,
        )
        try:
            run.start()
            yield run
        finally:
            run.stop()


def either_stack(request: pytest.FixtureRequest) -> Stack:
    """For a fixture parametrized with STACK_MODES: the stack reached over the Events API and a
    Telegram webhook, or the one reached over Socket Mode and polling."""
    name = "public_url_stack" if request.param == "public-url" else "no_public_url_stack"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


STACK_MODES = ["public-url", "no-public-url"]


@pytest.fixture
def chat_id() -> int:
    """A Telegram chat no other test uses."""
    return next(_chat_ids)
