"""A staff reply the bridge was handling when it died is not lost: Slack had no answer (HTTP)
or no acknowledgement (Socket Mode) yet, so it delivers the event again, and the restarted
bridge relays it, once. With Socket Mode that holds only because the envelope is acknowledged
after the handler has queued the reply (bolt's process_before_response), never before."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from devstack.stack import Stack
from tests.desk.helpers import Desk, WidgetCustomer, stack_like
from tests.support import eventually

BOB = "U0BOB"  # staff, and not looked up by this bridge before his first reply


@pytest.fixture
def own_stack(stack: Stack, tmp_path: Path) -> Iterator[Stack]:
    """A bridge this test may kill, reached as `stack` is."""
    with stack_like(stack, tmp_path, {}) as run:
        yield run


async def _get(url: str) -> Any:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def _users_info_calls(slack_url: str) -> int:
    return int((await _get(f"{slack_url}/_test/calls")).get("users.info", 0))


async def test_a_reply_in_hand_when_the_bridge_dies_is_relayed_after_the_restart(
    own_stack: Stack,
) -> None:
    run = own_stack
    bob = Desk(run.slack_url, user=BOB)
    async with WidgetCustomer(run.bridge_url) as customer:
        await customer.say("I want to talk to a person")
        await customer.wait_for(lambda m: "person from our team" in m["text"], "handoff notice")
        card_ts = await bob.wait_for_thread(customer.conversation_id)
        token = customer.token

    # Handling Bob's reply, the bridge first asks Slack who he is (users.info): that call is
    # held unanswered, and the bridge is killed while it waits, before the reply is queued.
    hang = {"method": "users.info", "hang": "before", "seconds": 30}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{run.slack_url}/_test/faults", json=hang) as response,
    ):
        assert response.status == 200, await response.text()
    before = await _users_info_calls(run.slack_url)
    ts = await bob.say(card_ts, "Bob here, your parcel left this morning.")
    deadline = time.monotonic() + 10
    while await _users_info_calls(run.slack_url) == before:  # the handler is waiting now
        assert time.monotonic() < deadline, "the reply never reached the bridge"
        await asyncio.sleep(0.02)
    run.services["bridge"].kill()  # SIGKILL: no answer, no acknowledgement
    await asyncio.to_thread(run.services["bridge"].start)

    async def delivery() -> dict[str, Any]:
        records = await _get(f"{run.slack_url}/_test/deliveries")
        return next(d for d in records if d["ts"] == ts and d["event_type"] == "message")

    record = await eventually(
        delivery, lambda d: d["status"] == "delivered", timeout_s=60, what="the redelivery"
    )
    assert record["attempts"] >= 2, record
    async with WidgetCustomer(run.bridge_url, token=token) as again:
        await again.wait_for(lambda m: "parcel left this morning" in m["text"], "Bob's reply")
        relayed = [m for m in again.messages() if "parcel left this morning" in m["text"]]
        assert len(relayed) == 1 and relayed[0]["author"] == "Bob", relayed
