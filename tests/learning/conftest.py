"""Learning tests share the session stack; a few start an extra bridge (tests/ops/conftest.py)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from devstack.processes import BRIDGE_PYTHON, RASA_BIN, ROOT
from devstack.stack import LOCAL_SLACK, Stack
from tests.ops.conftest import extra_bridge

__all__ = ["extra_bridge"]


def tool(
    stack: Stack, *args: str, python: Path = BRIDGE_PYTHON
) -> subprocess.CompletedProcess[str]:
    """Run `python -m tools.<args>` as a maintainer would, against the stack."""
    env = {
        **os.environ,
        "BRIDGE_ENV_FILE": os.devnull,
        "REDIS_URL": stack.redis_url,
        "RASA_REDIS_URL": stack.rasa_redis_url,
        "RASA_URL": stack.rasa_url,
        **LOCAL_SLACK,
        "SLACK_API_URL": f"{stack.slack_url}/api/",
        "RASA_TELEMETRY_ENABLED": "false",
    }
    return subprocess.run(
        [str(python), "-m", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


RASA_PYTHON = RASA_BIN / "python"


@pytest.fixture
async def redis(stack: Stack) -> AsyncIterator[Redis]:
    """The bridge's database on the session stack's Redis."""
    client = Redis.from_url(stack.redis_url, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
async def rasa_redis(stack: Stack) -> AsyncIterator[Redis]:
    """Rasa's trackers on the session stack's Redis."""
    client = Redis.from_url(stack.rasa_redis_url, decode_responses=True)
    yield client
    await client.aclose()
