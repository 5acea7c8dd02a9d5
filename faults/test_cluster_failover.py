"""A Redis Cluster primary SIGKILLed mid-relay, its replica promoted (docs/scaling.md, "Cluster";
docs/faults.md). The product runs with its bridge on a local cluster of its own (three primaries,
a replica each, cluster-node-timeout 2 s); the primary killed is the one holding the
conversation's slot: its transcript, its state and its partition queues.

Target: 0 lost, 0 duplicated, 0 out of order, and the cluster serving the slot again within
FAILOVER_BOUND_S; the measured time is in the report's note.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from bridge import keys
from devstack.cluster import CLUSTER_NODE_TIMEOUT_MS
from devstack.rundir import exclusive_run_dir
from devstack.stack import ONE_ADDRESS_FOR_MANY_CUSTOMERS, Stack
from faults.conftest import ARTIFACTS, Report, assert_clean, tally
from faults.test_faults import DELIVERED, _human, _thread_posts
from tests.support import eventually

# The documented bound on a failover (docs/scaling.md): a node is marked failed once a majority
# of primaries reported it unreachable for cluster-node-timeout (their reports gathered within
# twice that), then its replica is elected (0.5-1 s, more for a second replica).
FAILOVER_BOUND_S = 2 * CLUSTER_NODE_TIMEOUT_MS / 1000 + 2.0


@pytest.fixture(scope="module")
def cluster_stack(stack: Stack) -> Iterator[Stack]:
    """The suite's product, but its bridge on a Redis Cluster of its own (`cluster`); Rasa
    and the action server are the suite stack's."""
    with exclusive_run_dir(ARTIFACTS / "cluster-stack") as run_dir:
        run = Stack(
            run_dir,
            bridge_env=ONE_ADDRESS_FOR_MANY_CUSTOMERS,
            redis_cluster=True,
            rasa_of=stack,
        )
        try:
            run.start()
            yield run
        finally:
            run.stop()


async def test_cluster_primary_sigkilled_mid_relay(
    cluster_stack: Stack, chat_id: int, report: Report
) -> None:
    stack = cluster_stack
    cluster = stack.cluster
    assert cluster is not None
    customer, desk, thread_ts = await _human(stack, chat_id, "Ines")
    conversation_id = f"tg-{chat_id}"
    primary = cluster.primary_of(keys.conversation(conversation_id))
    # Ten replies, queued on the conversation's partition (on `primary`), leave at Telegram's
    # pace; the primary is killed once the third one's receipt shows.
    for n in range(1, 11):
        await desk.reply(thread_ts, f"fail-staff-{n:02d}")
    await eventually(
        lambda: desk.thread(thread_ts),
        lambda ms: any(
            m.get("text") == "fail-staff-03"
            and any(r["name"] == DELIVERED for r in m.get("reactions", []))
            for m in ms
        ),
        what="the third reply's receipt",
    )
    killed_at = time.monotonic()
    cluster.kill(primary)
    # The customer writes while the slot has no primary (the bridge's commands retry).
    for n in range(1, 6):
        await customer.say(f"fail-cust-{n:02d}")
    await asyncio.to_thread(cluster.wait_promoted, primary, keys.conversation(conversation_id))
    served_after_s = time.monotonic() - killed_at  # polled every 50 ms: an upper bound
    for n in range(6, 11):
        await customer.say(f"fail-cust-{n:02d}")
    texts = await customer.wait_for(lambda t: "fail-staff-10" in t, "every staff reply")
    posts = await eventually(
        lambda: _thread_posts(desk, thread_ts),
        lambda ps: any("fail-cust-10" in p for p in ps),
        timeout_s=90,
        what="every customer line in the thread",
    )
    note = (
        f"cluster ok again {served_after_s:.1f} s after the kill "
        f"(bound {FAILOVER_BOUND_S:.0f} s: 2 × node timeout {CLUSTER_NODE_TIMEOUT_MS} ms + 2 s)"
    )
    to_customer = report.add(
        tally("Cluster primary SIGKILL: staff → Telegram", "fail-staff", 10, texts, note)
    )
    to_staff = report.add(
        tally("Cluster primary SIGKILL: Telegram → thread", "fail-cust", 10, posts, note)
    )
    assert_clean(to_customer)
    assert_clean(to_staff)
    assert served_after_s <= FAILOVER_BOUND_S, note
