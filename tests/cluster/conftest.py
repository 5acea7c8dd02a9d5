"""A real local Redis Cluster (three primaries, a replica each) for the whole session, created
by the run (devstack/cluster.py) and torn down after it; and `stack`, the whole product with
the bridge on such a cluster (Rasa's trackers stay on the stack's standalone Redis), which the
test_on_cluster_*.py modules run existing end-to-end tests against."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bridge import redis_pool
from devstack.cluster import LocalCluster
from devstack.rundir import exclusive_run_dir
from devstack.stack import ONE_ADDRESS_FOR_MANY_CUSTOMERS, Stack
from tests.conftest import chat_id
from tests.e2e.conftest import browser

__all__ = ["browser", "chat_id"]

ARTIFACTS = Path(__file__).parent.parent / ".artifacts" / "cluster"


@pytest.fixture(scope="session")
def cluster() -> Iterator[LocalCluster]:
    with exclusive_run_dir(ARTIFACTS / "nodes") as run_dir:
        nodes = LocalCluster(run_dir)
        try:
            nodes.start()
            yield nodes
        finally:
            nodes.stop()


@pytest.fixture
async def cluster_redis(cluster: LocalCluster) -> AsyncIterator[redis_pool.Redis]:
    """The bridge's own client on the cluster (REDIS_URL=redis+cluster://...)."""
    client = redis_pool.connect(cluster.url)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture(scope="session")
def stack(public_url_stack: Stack) -> Iterator[Stack]:
    """The product, its bridge on a Redis Cluster of its own (`stack.cluster`), its stand-ins
    its own; Rasa and the action server are the session stack's (one Rasa in the run)."""
    with exclusive_run_dir(ARTIFACTS / "stack") as run_dir:
        run = Stack(
            run_dir,
            bridge_env=ONE_ADDRESS_FOR_MANY_CUSTOMERS,
            redis_cluster=True,
            rasa_of=public_url_stack,
        )
        try:
            run.start()
            yield run
        finally:
            run.stop()
