"""Several real bridge processes sharing one Redis, with their own local Slack (and Telegram).

The stack's Rasa and action server are shared; everything else here belongs to the test: its
own Redis database, its own stand-ins (so their events go to the replica the test chooses, and
their rate limits can be on), and two or more bridges.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from devstack.processes import BRIDGE_PYTHON, Service, free_port, http_ok, port_open
from devstack.stack import LOCAL_SLACK, LOCAL_TELEGRAM, ONE_ADDRESS_FOR_MANY_CUSTOMERS, Stack


@dataclass
class Replicas:
    redis_url: str
    slack_url: str
    telegram_url: str
    bridges: list[Service]
    bridge_urls: list[str]
    standins: dict[str, Service] = field(default_factory=dict)

    def redis(self) -> Redis:
        return Redis.from_url(self.redis_url, decode_responses=True)

    def all(self) -> list[Service]:
        return [*self.standins.values(), *self.bridges]


def _standin(name: str, argv: list[str], port: int, run_dir: Path) -> Service:
    return Service(
        name,
        [str(BRIDGE_PYTHON), "-m", *argv, "--port", str(port)],
        run_dir,
        ready=lambda: port_open(port),
    )


async def start_replicas(
    stack: Stack,
    run_dir: Path,
    redis_db: int,
    count: int = 2,
    events_to: int = 1,
    rate_limit: bool = False,
    telegram: bool = False,
    env: dict[str, str] | None = None,
    redis_url: str | None = None,
) -> Replicas:
    """Start stand-ins and `count` bridges; Slack events and Telegram updates go to bridge
    number `events_to`."""
    url = redis_url or stack.redis_url.rsplit("/", 1)[0] + f"/{redis_db}"
    redis = Redis.from_url(url)
    await redis.flushdb()
    await redis.aclose()
    ports = [free_port() for _ in range(count)]
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    slack_port, telegram_port = free_port(), free_port()
    limit = ["--rate-limit"] if rate_limit else []
    standins = {
        "slack": _standin(
            f"slack-{redis_db}",
            [
                "standins.slack",
                "--events-url",
                f"{urls[events_to]}/slack/events",
                "--interactivity-url",
                f"{urls[events_to]}/slack/interactivity",
                "--signing-secret",
                LOCAL_SLACK["SLACK_SIGNING_SECRET"],
                *limit,
            ],
            slack_port,
            run_dir,
        )
    }
    if telegram:
        standins["telegram"] = _standin(
            f"telegram-{redis_db}", ["standins.telegram", *limit], telegram_port, run_dir
        )
    bridges = []
    for index, port in enumerate(ports):
        bridge_env = {
            "REDIS_URL": url,
            "RASA_URL": stack.rasa_url,
            "BRIDGE_PORT": str(port),
            "BRIDGE_PUBLIC_URL": urls[index],
            "BRIDGE_INSTANCE": f"replica-{redis_db}-{index}",
            "SLACK_API_URL": f"http://127.0.0.1:{slack_port}/api/",
            **LOCAL_SLACK,
            **ONE_ADDRESS_FOR_MANY_CUSTOMERS,
        }
        if telegram:
            bridge_env |= LOCAL_TELEGRAM | {
                "TELEGRAM_API_URL": f"http://127.0.0.1:{telegram_port}/bot",
                "TELEGRAM_FILE_URL": f"http://127.0.0.1:{telegram_port}/file/bot",
                "TELEGRAM_SET_WEBHOOK": "true" if index == events_to else "false",
            }
        bridges.append(
            Service(
                f"bridge-{redis_db}-{index}",
                [str(BRIDGE_PYTHON), "-m", "bridge"],
                run_dir,
                env=bridge_env | (env or {}),
                ready=_healthy(urls[index]),
            )
        )
    replicas = Replicas(
        url,
        f"http://127.0.0.1:{slack_port}",
        f"http://127.0.0.1:{telegram_port}",
        bridges,
        urls,
        standins,
    )
    for service in replicas.all():
        await asyncio.to_thread(service.start)
    return replicas


def _healthy(url: str) -> Callable[[], bool]:
    return lambda: http_ok(f"{url}/healthz")


@pytest.fixture
async def replicas_factory(stack: Stack, tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    """`await make(redis_db, **options)` starts a set of replicas; all are stopped afterwards."""
    started: list[Replicas] = []

    async def make(redis_db: int, **options: Any) -> Replicas:
        replicas = await start_replicas(stack, tmp_path, redis_db, **options)
        started.append(replicas)
        return replicas

    yield make
    for replicas in started:
        for service in reversed(replicas.all()):
            await asyncio.to_thread(service.stop)
