"""The bridge's client rides out a failover: a primary SIGKILLed while a conversation's lines
are being recorded, its replica promoted; every line is recorded once, in order, and the longest
wait for one is within the documented bound. A cluster of its own (this one loses a node)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge import keys, redis_pool
from bridge.models import Channel, Message, Role
from bridge.outbox.jobs import PostCustomerLine
from bridge.store.conversations import Conversations
from bridge.store.dedupe import event_key
from bridge.store.transcript import Transcripts
from devstack.cluster import CLUSTER_NODE_TIMEOUT_MS, LocalCluster
from devstack.rundir import exclusive_run_dir

ARTIFACTS = Path(__file__).parent.parent / ".artifacts" / "cluster"
# docs/scaling.md: the failover (2 x cluster-node-timeout + 2 s) and the client's next retry.
BOUND_S = 2 * CLUSTER_NODE_TIMEOUT_MS / 1000 + 2.0 + 0.5


@pytest.fixture(scope="module")
def doomed_cluster() -> Iterator[LocalCluster]:
    with exclusive_run_dir(ARTIFACTS / "failover") as run_dir:
        nodes = LocalCluster(run_dir)
        try:
            nodes.start()
            yield nodes
        finally:
            nodes.stop()


async def test_lines_recorded_through_a_failover(doomed_cluster: LocalCluster) -> None:
    redis = redis_pool.connect(doomed_cluster.url)
    conversation_id = "tg-5150"
    transcripts = Transcripts(redis)
    await Conversations(redis).ensure(conversation_id, Channel.TELEGRAM, "5150", "Kim")
    primary = doomed_cluster.primary_of(keys.conversation(conversation_id))
    longest = 0.0
    killed_at = 0.0
    for n in range(1, 61):
        if n == 20:
            doomed_cluster.kill(primary)
            killed_at = time.monotonic()
        line = Message(role=Role.CUSTOMER, text=f"line-{n:02d}")
        started = time.monotonic()
        # A line whose answer was lost with the primary is sent again, as a platform would
        # redeliver it: its once key makes the second delivery a no-op if the first landed.
        for attempt in range(3):
            try:
                await transcripts.record_inbound(
                    conversation_id,
                    line,
                    event_key("telegram", str(n), conversation_id),
                    PostCustomerLine(conversation_id, line.text),
                )
                break
            except Exception:
                if attempt == 2:
                    raise
        longest = max(longest, time.monotonic() - started)
        await asyncio.sleep(0)  # let the client's background work run between lines
    doomed_cluster.wait_promoted(primary, keys.conversation(conversation_id), timeout_s=30)
    entries = await redis.xrange(keys.transcript(conversation_id))
    texts = [fields["text"] for _, fields in entries]
    assert texts == [f"line-{n:02d}" for n in range(1, 61)], texts
    assert longest <= BOUND_S, (longest, time.monotonic() - killed_at)
    print(f"longest wait for one line: {longest:.2f} s (bound {BOUND_S:.1f} s)")
    await redis.aclose()
