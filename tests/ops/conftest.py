"""Helpers for the operations tests: reading /metrics, and extra bridge processes."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from devstack.processes import BRIDGE_PYTHON, Service, free_port, http_ok
from devstack.stack import LOCAL_SLACK, Stack

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(bridge_url: str) -> Samples:
    async with aiohttp.ClientSession() as http, http.get(f"{bridge_url}/metrics") as response:
        assert response.status == 200, await response.text()
        text = await response.text()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def bridge_env(stack: Stack, redis_db: int, port: int) -> dict[str, str]:
    """A second bridge on its own Redis database, so it shares no queue with the stack's."""
    return {
        "REDIS_URL": stack.redis_url.rsplit("/", 1)[0] + f"/{redis_db}",
        "RASA_URL": stack.rasa_url,
        "BRIDGE_PORT": str(port),
        "BRIDGE_INSTANCE": f"ops-bridge-{redis_db}",
        "BRIDGE_ENV_FILE": os.devnull,
        **LOCAL_SLACK,
        "SLACK_API_URL": f"{stack.slack_url}/api/",
    }


@pytest.fixture
def extra_bridge(tmp_path: Path) -> Iterator[Callable[[dict[str, str]], Service]]:
    """Builds (not starts) bridge processes logging under tmp_path; stops them afterwards."""
    started: list[Service] = []

    def make(env: dict[str, str]) -> Service:
        port = int(env.get("BRIDGE_PORT") or free_port())
        service = Service(
            "bridge",
            [str(BRIDGE_PYTHON), "-m", "bridge"],
            tmp_path,
            env=env,
            ready=lambda: http_ok(f"http://127.0.0.1:{port}/healthz"),
        )
        started.append(service)
        return service

    yield make
    for service in started:
        service.kill()
