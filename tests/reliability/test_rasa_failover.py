"""Several Rasa servers behind the bridge's Rasa client, against the stack's real Rasa.

The conversation's first choice is a stand-in on loopback that takes the turn's request and
then drops the connection without an answer, the way a Rasa killed mid-turn does; the second
is the real Rasa (trackers in Redis). Whether the dying server got as far as saving the turn
decides what the client must do (bridge/rasa_client.py, docs/scaling.md):

- saved (Rasa answered, the answer was lost): the replies are read back from the tracker, the
  message is not processed again;
- never reached Rasa, and the server is gone: the turn is sent to the other server, once;
- never reached Rasa, but the server still answers: unclear, RasaUnavailable (a person).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis

from bridge.rasa_client import MESSAGE_ID, RasaClient, RasaUnavailable
from bridge.rasa_servers import rendezvous
from devstack.processes import free_port
from devstack.stack import Stack

QUESTION = "which payment methods can I use?"
ANSWER = "PayPal"


class DyingRasa:
    """Takes one turn's request, then drops the connection without answering.

    `forward`: pass the request to the real Rasa first (it processes and saves the turn).
    `die`: stop listening before dropping it (its address then refuses connections).
    Anything else (the health check's GET /) gets a 200, as from a live Rasa.
    """

    def __init__(self, real_rasa: str, forward: bool, die: bool) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._real = real_rasa
        self._forward = forward
        self._die = die
        self._server: asyncio.Server | None = None
        self.turns = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self._server is not None and self._server.is_serving():
            self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request_line, *header_lines = head.decode().split("\r\n")
                headers = dict(line.split(": ", 1) for line in header_lines if ": " in line)
                length = int({k.lower(): v for k, v in headers.items()}.get("content-length", 0))
                body = await reader.readexactly(length) if length else b""
                if request_line.startswith("POST /webhooks/rest/webhook"):
                    self.turns += 1
                    if self._forward:
                        async with (
                            aiohttp.ClientSession() as http,
                            http.post(
                                f"{self._real}/webhooks/rest/webhook",
                                data=body,
                                headers={"Content-Type": "application/json"},
                            ) as response,
                        ):
                            await response.read()  # saved by Rasa; the answer goes nowhere
                    if self._die:
                        await self.stop()
                    writer.transport.abort()  # the connection dies, no answer
                    return
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


@asynccontextmanager
async def dying(stack: Stack, forward: bool, die: bool) -> AsyncIterator[DyingRasa]:
    server = DyingRasa(stack.rasa_url, forward, die)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def _conversation_preferring(first: str, servers: list[str]) -> str:
    while True:
        conversation = f"failover-{uuid.uuid4().hex[:12]}"
        if rendezvous(conversation, servers)[0] == first:
            return conversation


async def _user_events(stack: Stack, conversation: str, message_id: str) -> int:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{stack.rasa_url}/conversations/{conversation}/tracker") as response,
    ):
        tracker: dict[str, Any] = await response.json()
    return sum(
        1
        for e in tracker.get("events") or []
        if e.get("event") == "user" and (e.get("metadata") or {}).get(MESSAGE_ID) == message_id
    )


async def _turn(
    stack: Stack, first: str, conversation: str | None = None, timeout_s: float = 30
) -> tuple[RasaClient, str, str, Any]:
    """One turn through a client whose conversation prefers `first`, then the real Rasa."""
    servers = [first, stack.rasa_url]
    conversation = conversation or _conversation_preferring(first, servers)
    message_id = f"{uuid.uuid4().hex[:8]}-0"
    metadata = {"customer": None, "source": "test:failover", MESSAGE_ID: message_id}
    async with aiohttp.ClientSession() as http:
        client = RasaClient(http, ",".join(servers), timeout_s=timeout_s)
        try:
            outcome: Any = await client.send(conversation, QUESTION, metadata)
        except RasaUnavailable as exc:
            outcome = exc
    return client, conversation, message_id, outcome


@pytest.mark.parametrize("die", [True, False], ids=["server gone", "server still up"])
async def test_a_turn_rasa_saved_before_the_connection_died_is_answered_from_its_tracker(
    stack: Stack, die: bool
) -> None:
    async with dying(stack, forward=True, die=die) as server:
        client, conversation, message_id, turn = await _turn(stack, server.url)
    assert server.turns == 1
    assert not isinstance(turn, RasaUnavailable), turn
    assert any(ANSWER in r.text for r in turn.replies), turn
    assert turn.decision is not None and turn.decision.outcome == "answer"
    # Processed once: the reply came from the tracker, the message was not sent again.
    assert await _user_events(stack, conversation, message_id) == 1
    assert not client.servers.is_up(server.url)


async def test_a_turn_that_never_reached_a_dead_rasa_is_sent_to_the_other(stack: Stack) -> None:
    async with dying(stack, forward=False, die=True) as server:
        client, conversation, message_id, turn = await _turn(stack, server.url)
    assert server.turns == 1
    assert not isinstance(turn, RasaUnavailable), turn
    assert any(ANSWER in r.text for r in turn.replies), turn
    assert await _user_events(stack, conversation, message_id) == 1
    assert client.servers.healthy() == [stack.rasa_url]


async def test_a_turn_sent_again_waits_for_the_lock_the_dead_rasa_held(stack: Stack) -> None:
    """The dead server took the conversation's lock in Rasa's lock store and never gave it
    back: the turn sent again waits for it to expire, longer than RASA_TIMEOUT_S allows."""
    conversation = f"failover-{uuid.uuid4().hex[:12]}"
    held_s, timeout_s = 6.0, 3.0
    lock = {
        "conversation_id": conversation,
        "tickets": [json.dumps({"number": 0, "expires": time.time() + held_s})],
    }
    rasa_redis = Redis.from_url(stack.rasa_redis_url)
    try:
        await rasa_redis.set(f"lock:{conversation}", json.dumps(lock))
        async with dying(stack, forward=False, die=True) as server:
            servers = [server.url, stack.rasa_url]
            while rendezvous(conversation, servers)[0] != server.url:
                conversation = f"failover-{uuid.uuid4().hex[:12]}"
                lock["conversation_id"] = conversation
                await rasa_redis.set(f"lock:{conversation}", json.dumps(lock))
            _, _, message_id, turn = await _turn(stack, server.url, conversation, timeout_s)
        assert not isinstance(turn, RasaUnavailable), turn
        assert any(ANSWER in r.text for r in turn.replies), turn
        assert await _user_events(stack, conversation, message_id) == 1
        assert not await rasa_redis.exists(f"lock:{conversation}")  # released after the turn
    finally:
        await rasa_redis.aclose()


async def test_a_dropped_turn_on_a_rasa_still_running_is_unclear(stack: Stack) -> None:
    """It may still be working on the message: sending it again could answer it twice."""
    async with dying(stack, forward=False, die=False) as server:
        _, conversation, message_id, outcome = await _turn(stack, server.url)
    assert isinstance(outcome, RasaUnavailable), outcome
    assert await _user_events(stack, conversation, message_id) == 0


async def test_a_refused_connection_goes_to_the_next_server_and_marks_it_down(
    stack: Stack,
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    client, conversation, message_id, turn = await _turn(stack, nowhere)
    assert not isinstance(turn, RasaUnavailable), turn
    assert any(ANSWER in r.text for r in turn.replies)
    assert await _user_events(stack, conversation, message_id) == 1
    assert not client.servers.is_up(nowhere)
    # Marked down, the server is tried last: the conversation stays on the live one meanwhile.
    assert client.servers.order(conversation) == [stack.rasa_url, nowhere]


async def test_the_health_check_marks_servers_down_and_up_again(stack: Stack) -> None:
    server = DyingRasa(stack.rasa_url, forward=False, die=False)
    async with aiohttp.ClientSession() as http:
        client = RasaClient(http, f"{server.url},{stack.rasa_url}", timeout_s=10)
        servers = client.servers
        await servers.check_all()
        assert servers.healthy() == [stack.rasa_url]  # nothing listens at the stand-in yet
        await server.start()
        try:
            await servers.check_all()
            assert servers.healthy() == [server.url, stack.rasa_url]
        finally:
            await server.stop()


@pytest.mark.parametrize("first_down", [False, True])
async def test_a_restart_reaches_a_live_server(stack: Stack, first_down: bool) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    servers = [nowhere, stack.rasa_url]
    conversation = _conversation_preferring(nowhere, servers)
    async with aiohttp.ClientSession() as http:
        client = RasaClient(http, ",".join(servers), timeout_s=10)
        if first_down:
            client.servers.mark_down(nowhere, "test")
        await client.restart(conversation)
        assert not client.servers.is_up(nowhere)
