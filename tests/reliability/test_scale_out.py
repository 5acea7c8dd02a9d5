"""Two bridge processes sharing one Redis serve the same conversations (docs/scaling.md)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from tests.desk.helpers import WidgetCustomer
from tests.reliability.conftest import Replicas
from tests.support import StaffDesk, eventually

A, B = 0, 1


def numbered(prefix: str, text: str) -> list[int]:
    """The numbers of `prefix NN` lines in the order they appear in `text`."""
    return [int(n) for n in re.findall(rf"{prefix} (\d+)", text)]


async def _handoff(customer: WidgetCustomer, desk: StaffDesk) -> str:
    await customer.say("let me talk to a real person")
    await customer.wait_for(
        lambda m: "person from our team" in m.get("text", ""), "the handoff notice"
    )
    return await desk.wait_for_thread(customer.conversation_id)


async def test_staff_reply_reaching_b_arrives_on_a_widget_of_a(
    replicas_factory: Callable[..., Any],
) -> None:
    # The local Slack sends every event to replica B; the customer's socket is held by A.
    replicas: Replicas = await replicas_factory(11, events_to=B)
    desk = StaffDesk(replicas.slack_url)
    async with WidgetCustomer(replicas.bridge_urls[A]) as customer:
        thread_ts = await _handoff(customer, desk)
        await desk.reply(thread_ts, "Hi, Dana here from the support team.")
        reply = await customer.wait_for(
            lambda m: "Dana here" in m.get("text", ""), "the staff reply relayed by B"
        )
        assert reply["role"] == "staff"
        # Replies keep coming in the order staff wrote them.
        for n in range(1, 6):
            await desk.reply(thread_ts, f"step {n:02d}")
        await customer.wait_for(lambda m: m.get("text") == "step 05", "the last reply")
        texts = [m.get("text", "") for m in customer.messages()]
        assert numbered("step", "\n".join(texts)) == [1, 2, 3, 4, 5], texts


async def test_every_socket_gets_each_message_once_whichever_replica_wrote_it(
    replicas_factory: Callable[..., Any],
) -> None:
    # A replica sends what it writes straight to the sockets it holds and skips that event when
    # Redis brings it back; the other replica's sockets get it from Redis.
    replicas: Replicas = await replicas_factory(8, events_to=B)
    desk = StaffDesk(replicas.slack_url)
    async with WidgetCustomer(replicas.bridge_urls[A]) as on_a:
        async with (
            WidgetCustomer(replicas.bridge_urls[A], on_a.token) as also_on_a,
            WidgetCustomer(replicas.bridge_urls[B], on_a.token) as on_b,
        ):
            thread_ts = await _handoff(on_a, desk)  # the line and the bot's notice: A writes
            await desk.reply(thread_ts, "Hi, Sam here.")  # the event reaches B: B writes
            # Last, a line each replica's sockets can only get through Redis, where it follows
            # every earlier event: a second copy of anything would have arrived before it.
            await desk.reply(thread_ts, "marker from B")
            await on_a.say("marker from A")
            for socket, marker in ((on_a, "B"), (also_on_a, "B"), (on_b, "A")):
                await socket.wait_for(
                    lambda m, marker=marker: m.get("text") == f"marker from {marker}", marker
                )
            for socket in (on_a, also_on_a, on_b):
                live = [f for f in socket.frames if f["type"] == "message"]
                ids = [f["id"] for f in live]
                assert len(ids) == len(set(ids)), [(f["id"], f["text"]) for f in live]
                texts = [f["text"] for f in live]
                assert "let me talk to a real person" in texts
                assert "Hi, Sam here." in texts
                assert any("person from our team" in t for t in texts)


async def test_customer_lines_reach_the_thread_in_order_whichever_replica_sends(
    replicas_factory: Callable[..., Any],
) -> None:
    replicas: Replicas = await replicas_factory(12, events_to=B)
    redis = replicas.redis()
    # Both replicas send: each holds a share of the outbound partitions.
    owners = await eventually(
        lambda: _lease_owners(redis),
        lambda o: len(set(o)) == 2,
        what="both replicas to hold partitions",
    )
    assert len(owners) >= 2
    desk = StaffDesk(replicas.slack_url)
    async with (
        WidgetCustomer(replicas.bridge_urls[A]) as on_a,
        WidgetCustomer(replicas.bridge_urls[B]) as on_b,
    ):
        threads = [await _handoff(on_a, desk), await _handoff(on_b, desk)]
        for n in range(1, 13):
            await on_a.say(f"line {n:02d}")
            await on_b.say(f"line {n:02d}")
        for thread_ts in threads:
            text = await eventually(
                lambda ts=thread_ts: desk.thread_text(ts),
                lambda t: "line 12" in t,
                what="every line in the thread",
            )
            assert numbered("line", text) == list(range(1, 13)), text
    await redis.aclose()


async def _lease_owners(redis: Any) -> list[str]:
    found = [await redis.get(key) async for key in redis.scan_iter("bridge:{lease}:out:*")]
    return [str(owner) for owner in found if owner]
