"""Every Lua script and transaction of a conversation's life, on a real Redis Cluster: each
names only keys of one slot (a CROSSSLOT error fails the test), and does what it does on a
standalone Redis. No bridge process: the bridge's own store code on the cluster client."""

from __future__ import annotations

import secrets
from typing import Any

from bridge import keys, redis_pool
from bridge.clock import now_ms
from bridge.learning.forget import forget
from bridge.learning.spikes import SpikeRule, Spikes
from bridge.limits import Bucket, Limiter, Rate
from bridge.models import Attachment, Channel, DeskAction, Message, Role, StaffMessageRef
from bridge.observability.timeline import Timeline
from bridge.outbox.delivery import Delivered, Delivery
from bridge.outbox.jobs import PostCustomerLine, SendToCustomer
from bridge.outbox.outbox import Outbox
from bridge.outbox.queues import stream_for
from bridge.rate_limits import CustomerQuota, PlatformLimiter
from bridge.store.conversations import Conversations, Handoff
from bridge.store.dedupe import STAFF_EVENTS, event_key
from bridge.store.files import Files
from bridge.store.threads import Threads
from bridge.store.transcript import Transcripts
from devstack.cluster import LocalCluster


def _handoff() -> Handoff:
    return Handoff("explicit_request", "a person please", [], now_ms(), now_ms() - 1, False, "")


async def test_keys_of_a_conversation_share_its_partition_slot(cluster_redis: Any) -> None:
    redis = cluster_redis
    for conversation_id in ("tg-1", "tg-2", "w-abc", "w-g0123"):
        slot = redis.keyslot(keys.conversation(conversation_id))
        same = [
            keys.transcript(conversation_id),
            keys.slack_outbox(conversation_id),
            keys.activity(conversation_id),
            keys.unclaimed(conversation_id),
            keys.relayed(conversation_id, "C1", "1.2"),
            keys.customer_quota("telegram", "1", conversation_id),
            event_key(STAFF_EVENTS, "Ev1", conversation_id),
            *keys.conversation_keys(conversation_id),
        ]
        if not keys.is_guest_conversation(conversation_id):
            same.append(keys.telegram_outbox(conversation_id))
        assert {redis.keyslot(k) for k in same} == {slot}, conversation_id


async def test_a_conversation_from_first_line_to_closed(cluster_redis: Any) -> None:
    redis = cluster_redis
    conversation_id = f"tg-{secrets.randbelow(10**9)}"
    conversations, transcripts, outbox = Conversations(redis), Transcripts(redis), Outbox(redis)
    threads, timeline = Threads(redis), Timeline(redis)
    await conversations.ensure(conversation_id, Channel.TELEGRAM, conversation_id[3:], "Kim")
    hello = Message(role=Role.CUSTOMER, text="hello")
    inbound = await transcripts.record_inbound(
        conversation_id,
        hello,
        event_key("telegram", "u1", conversation_id),
        PostCustomerLine(conversation_id, hello.text),
        active_at_ms=now_ms(),
        quota=(keys.customer_quota("telegram", conversation_id[3:], conversation_id), 30),
    )
    assert inbound.is_new
    again = await transcripts.record_inbound(
        conversation_id,
        hello,
        event_key("telegram", "u1", conversation_id),
        PostCustomerLine(conversation_id, hello.text),
    )
    assert not again.is_new and again.message.id == inbound.message.id

    # The bot answers (a queued Telegram job, in the same step), once.
    conversation = await conversations.get(conversation_id)
    assert conversation is not None
    once = event_key("desk", f"answer:{conversation_id}", conversation_id)
    assert await outbox.to_customer(conversation, Message(role=Role.BOT, text="hi"), once)
    assert await outbox.to_customer(conversation, Message(role=Role.BOT, text="hi"), once) is None
    assert await redis.xlen(keys.telegram_outbox(conversation_id)) == 1

    # The handoff: conversation, earlier threads, the unclaimed index and the card's jobs.
    assert await conversations.take_over(conversation_id, _handoff())
    assert conversation_id in await conversations.due_unclaimed(now_ms())
    assert await redis.xlen(keys.slack_outbox(conversation_id)) >= 2

    # The card is posted: its acknowledgement links the thread (keys in other slots too).
    stream = keys.slack_outbox(conversation_id)
    await redis.xgroup_create(stream, keys.SENDER_GROUP, id="0", mkstream=True)
    entries: Any = await redis.xreadgroup(keys.SENDER_GROUP, "t", {stream: ">"}, count=1)
    entry_id = entries[0][1][0][0]
    thread = f"{secrets.randbelow(10**9)}.000100"
    await outbox.ack(
        Delivery(stream, (entry_id,)),
        [],
        Delivered(steps=(Threads.link_step(conversation_id, "C0STAFF", thread),)),
    )
    found = await threads.staff_thread("C0STAFF", thread)
    assert found is not None and found[0] == conversation_id
    assert int((await redis.xpending(stream, keys.SENDER_GROUP))["pending"]) == 0

    # A person claims it and replies; the reply is relayed once; its record is found.
    outcome = await conversations.desk_action(
        conversation_id, DeskAction.CLAIM, thread, "U1", "Bob"
    )
    assert outcome
    conversation = await conversations.get(conversation_id)
    assert conversation is not None
    ref = StaffMessageRef("C0STAFF", f"{thread}1", thread)
    reply_once = event_key(STAFF_EVENTS, "Ev-reply", conversation_id)
    reply = Message(role=Role.STAFF, text="Bob here")
    relayed = await outbox.relay_staff(conversation, reply, ref, reply_once, now_ms(), thread)
    assert relayed not in (None, "not-claimed")
    assert await outbox.relay_staff(conversation, reply, ref, reply_once, now_ms(), thread) is None
    record = await threads.relay(ref, conversation_id)
    assert record is not None and record.conversation == conversation_id

    # Telegram's ids are remembered with the acknowledgement of its job.
    tg_stream = keys.telegram_outbox(conversation_id)
    await redis.xgroup_create(tg_stream, keys.SENDER_GROUP, id="0", mkstream=True)
    tg: Any = await redis.xreadgroup(keys.SENDER_GROUP, "t", {tg_stream: ">"}, count=10)
    ids = tuple(e[0] for e in tg[0][1])
    await outbox.ack(
        Delivery(tg_stream, ids),
        [],
        Delivered(steps=(Threads.sent_ids_step(ref, conversation_id, [7, 8]),)),
    )
    record = await threads.relay(ref, conversation_id)
    assert record is not None and record.platform_ids == (7, 8)

    # Closed from the card; the timeline's stamps and the idle sweep, per partition index.
    assert await conversations.desk_action(conversation_id, DeskAction.CLOSE, thread, "U1", "Bob")
    await timeline.closed(conversation_id)
    assert await timeline.sweep_idle(idle_after_s=3600) >= 0

    # `make forget`: SCAN over every node, lookups and deletes across slots.
    assert await forget(redis, conversation_id, "C0STAFF")
    left = [k async for k in redis.scan_iter(match=f"*{conversation_id}*")]
    assert left == [], left


async def test_dead_letters_and_jobs_of_many_conversations(cluster_redis: Any) -> None:
    redis = cluster_redis
    outbox = Outbox(redis)
    jobs = [
        SendToCustomer(f"tg-{n}", Channel.TELEGRAM, Message(role=Role.BOT, text=f"m{n}"))
        for n in range(40, 48)
    ]
    await outbox.enqueue(*jobs)  # eight partitions, several slots, one call
    stream = stream_for(jobs[0])
    await redis.xgroup_create(stream, keys.SENDER_GROUP, id="0", mkstream=True)
    entries: Any = await redis.xreadgroup(keys.SENDER_GROUP, "t", {stream: ">"}, count=10)
    ids = tuple(e[0] for e in entries[0][1])
    before = await redis.xlen(keys.DEAD_LETTERS)
    fields = [dict(e[1]) for e in entries[0][1]]
    await outbox.dead_letter(Delivery(stream, ids), fields, [], "refused")
    assert await redis.xlen(keys.DEAD_LETTERS) == before + len(ids)
    assert int((await redis.xpending(stream, keys.SENDER_GROUP))["pending"]) == 0


async def test_spike_alert_is_queued_once(cluster_redis: Any) -> None:
    redis = cluster_redis
    topic = f"intent:t{secrets.randbelow(10**9)}"
    spikes = Spikes(redis, Outbox(redis), SpikeRule("C0ALERTS", min_count=1, min_share=0.0))
    before = await redis.xlen(keys.SLACK_OUTBOX)
    assert await spikes.count(topic, "tg-1", "where is my order", "handoff", now_ms())
    assert not await spikes.count(topic, "tg-2", "where is my order", "handoff", now_ms())
    assert await redis.xlen(keys.SLACK_OUTBOX) == before + 1


async def test_standalone_transactions_are_unchanged(cluster: LocalCluster) -> None:
    """On a standalone Redis, `transaction` is redis-py's own MULTI pipeline."""
    from redis.asyncio import Redis
    from redis.asyncio.client import Pipeline

    standalone = Redis()
    try:
        assert isinstance(redis_pool.transaction(standalone), Pipeline)
    finally:
        await standalone.aclose()


def test_cluster_urls_are_told_apart() -> None:
    assert redis_pool.is_cluster_url("redis+cluster://127.0.0.1:7000,127.0.0.1:7001")
    assert not redis_pool.is_cluster_url("redis://127.0.0.1:6379/0")


async def test_limits_pacing_quotas_and_files(cluster_redis: Any) -> None:
    redis = cluster_redis
    limiter = Limiter(redis)
    every_second = Rate(count=5, period_s=1.0)
    buckets = (Bucket("source", "198.51.100.7", every_second), Bucket("all", "all", every_second))
    assert await limiter.take(*buckets) is None
    pacing = PlatformLimiter(redis)
    await pacing.telegram_send("4242")  # the chat's slot and the bot's, together
    await pacing.slack_post("C0STAFF")
    quota = CustomerQuota(redis, per_minute=1)
    assert await quota.allow("telegram", "4242", "tg-4242")
    assert not await quota.allow("telegram", "4242", "tg-4242")
    files = Files(redis)
    file_id = await files.put(Attachment(b"hello", "a.txt", "text/plain"), owner="tg-4242")
    await files.attach(file_id)
    assert (await files.get(file_id)) is not None
    assert await files.delete(file_id)
