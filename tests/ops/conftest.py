"""Helpers for the operations tests: reading /metrics, extra bridge processes, this machine's
addresses."""

from __future__ import annotations

import ipaddress
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from devstack.processes import BRIDGE_PYTHON, Service, free_port, http_ok
from devstack.stack import LOCAL_SLACK, ONE_ADDRESS_FOR_MANY_CUSTOMERS, Stack

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
        **ONE_ADDRESS_FOR_MANY_CUSTOMERS,
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


def non_loopback_address() -> str | None:
    """An IPv4 address of this machine other than loopback (`hostname -I`), if it has one."""
    try:
        found = subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    for word in found.stdout.split():
        try:
            address = ipaddress.ip_address(word)
        except ValueError:
            continue
        if address.version == 4 and not address.is_loopback:
            return str(address)
    return None


def listening_addresses(port: int) -> set[str]:
    """The local addresses with a TCP socket listening on `port` (/proc/net/tcp and tcp6)."""
    found: set[str] = set()
    for table, version in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 6)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state = fields[1], fields[3]
            address_hex, port_hex = local.split(":")
            if state != "0A" or int(port_hex, 16) != port:  # 0A: LISTEN
                continue
            # The kernel prints each 32-bit word in host (little-endian) order.
            raw = b"".join(
                bytes.fromhex(address_hex[i : i + 8])[::-1] for i in range(0, len(address_hex), 8)
            )
            address = ipaddress.IPv4Address(raw) if version == 4 else ipaddress.IPv6Address(raw)
            found.add(str(address))
    return found
