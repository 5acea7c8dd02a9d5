"""What a Prometheus dashboard shows after a customer talks to the bot and then to a person."""

from __future__ import annotations

from prometheus_client import REGISTRY
from redis.asyncio import Redis

from bridge.clock import now_ms
from bridge.models import Channel, Conversation, Message, Role, StaffMessageRef
from bridge.observability.timeline import Timeline
from bridge.outbox.jobs import PostCustomerLine
from bridge.outbox.outbox import Outbox
from bridge.store.conversations import Conversations
from bridge.store.transcript import Transcripts
from devstack.stack import Stack
from tests.ops.conftest import scrape, value
from tests.support import StaffDesk, telegram_handoff


async def test_a_handoff_shows_up_in_the_metrics(stack: Stack, chat_id: int) -> None:
    before = await scrape(stack.bridge_url)
    desk = StaffDesk(stack.slack_url)
    customer, thread_ts = await telegram_handoff(stack.telegram_url, desk, chat_id, "Mira")
    await desk.reply(thread_ts, "Hi Mira, Bob here.")
    await customer.wait_for(lambda t: "Bob here" in t, "the staff reply")

    after = await scrape(stack.bridge_url)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("bridge_messages_total", channel="telegram", direction="in") >= 1
    assert grew("bridge_messages_total", channel="telegram", direction="out") >= 2
    assert grew("bridge_messages_total", channel="slack", direction="in") >= 1
    assert grew("bridge_messages_total", channel="slack", direction="out") >= 1
    assert grew("bridge_handoffs_total", reason="explicit_request") >= 1
    assert grew("bridge_time_to_first_human_reply_seconds_count") >= 1
    assert grew("bridge_rasa_request_seconds_count", outcome="ok") >= 1
    # Queue depths are read from Redis at scrape time, for every outbound stream.
    for stream in ("bridge:out:slack", "bridge:out:telegram", "bridge:out:dead"):
        assert ("bridge_queue_length", frozenset({("stream", stream)})) in after
        assert ("bridge_queue_pending", frozenset({("stream", stream)})) in after


async def test_ended_conversations_are_counted_by_who_handled_them(stack: Stack) -> None:
    # Real Redis (its own database), the bridge's own timeline code, no bridge process.
    redis = Redis.from_url(stack.redis_url.rsplit("/", 1)[0] + "/6", decode_responses=True)
    await redis.flushdb()
    timeline = Timeline(redis)
    before = _ended()

    transcripts = Transcripts(redis)
    for conversation_id in ("w-bot-only", "w-with-person"):
        # A conversation is stored from its first message; its lines are recorded after.
        await Conversations(redis).ensure(conversation_id, Channel.WIDGET, conversation_id, "")
        # A customer line stamps the timeline in the step that records it.
        hello = Message(role=Role.CUSTOMER, text="hello", client_msg_id="c1")
        to_thread = PostCustomerLine(conversation_id, hello.text)
        await transcripts.record_inbound(
            conversation_id, hello, f"bridge:test:seen:{conversation_id}", to_thread, now_ms()
        )
    await timeline.handed_over("w-with-person", "complaint")
    # Two staff replies, stamped by the relay's own script; only the first one is timed.
    outbox = Outbox(redis)
    with_person = Conversation("w-with-person", Channel.WIDGET, external_id="", display_name="")
    for n in range(2):
        stamp = now_ms()
        relayed = await outbox.relay_staff(
            with_person,
            Message(role=Role.STAFF, text=f"reply {n}"),
            StaffMessageRef("C-STAFF", f"1700000000.00000{n}"),
            f"bridge:test:seen:{n}",
            stamp,
        )
        assert relayed is not None and relayed != "not-claimed"
        Timeline.staff_reply_counted(stamp, relayed[1])
    await timeline.closed("w-with-person")
    assert await timeline.sweep_idle(idle_after_s=0) == 1  # the closed one is not idle too

    after = _ended()
    assert after["bot", "idle"] == before["bot", "idle"] + 1
    assert after["person", "closed"] == before["person", "closed"] + 1
    assert after["replies"] == before["replies"] + 1
    assert after["closed_timed"] == before["closed_timed"] + 1
    await redis.aclose()


def _ended() -> dict[tuple[str, str] | str, float]:
    def get(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    return {
        ("bot", "idle"): get("bridge_conversations_ended_total", handled_by="bot", how="idle"),
        ("person", "closed"): get(
            "bridge_conversations_ended_total", handled_by="person", how="closed"
        ),
        "replies": get("bridge_time_to_first_human_reply_seconds_count"),
        "closed_timed": get(
            "bridge_time_to_close_seconds_count", handled_by="person", how="closed"
        ),
    }
