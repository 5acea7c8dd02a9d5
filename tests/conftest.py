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
def stack() -> Iterator[Stack]:
    """The whole product on loopback, on free ports, with its own Redis server."""
    with exclusive_run_dir(ARTIFACTS / "stack") as run_dir:
        run = Stack(run_dir, bridge_env=ONE_ADDRESS_FOR_MANY_CUSTOMERS)
        try:
            run.start()
            yield run
        finally:
            run.stop()


@pytest.fixture
def chat_id() -> int:
    """A Telegram chat no other test uses."""
    return next(_chat_ids)
