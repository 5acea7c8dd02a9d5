"""The bridge's Redis client: one blocking pool per process, whose connections pack commands
with hiredis; or, for `REDIS_URL=redis+cluster://host:port[,host:port…]`, a Redis Cluster
client (docs/scaling.md, "Cluster").

redis-py's asyncio connections pack every command in Python, copying the command so far once
per argument; hiredis does it in C. The relay's hot script call has a few dozen arguments, and
packing was a tenth of the bridge's CPU at saturation (docs/benchmarks.md, measurement 2).
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any, cast
from urllib.parse import parse_qs, unquote, urlsplit

import hiredis
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import (
    ClusterDownError,
    ConnectionError,
    SlotNotCoveredError,
    TimeoutError,
    TryAgainError,
)

# The URL schemes of a Redis Cluster: the seed nodes, comma-separated (any of them will do; the
# client learns the rest from the cluster).
CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")

# How a Cluster client rides out a failover (a primary lost, its replica promoted). redis-py
# reloads the slot map and tries a command again on a closed connection, a timeout or a slot no
# node serves, but at once: its retries are spent in well under a second, while the cluster
# needs cluster-node-timeout plus an election to promote the replica. So every command, script
# and transaction is tried again for up to FAILOVER_RIDE_S, with a backoff doubling from 50 ms
# to 500 ms. A command whose connection broke after it was sent may have been carried out: the
# bridge's steps are guarded by once keys (the relay, a customer line, a delivery) or are
# idempotent (acknowledgements, HSET), as with a standalone Redis's reconnects.
CLUSTER_RETRIES = 3
FAILOVER_RIDE_S = 20.0
RETRIED = (ConnectionError, TimeoutError, ClusterDownError, SlotNotCoveredError, TryAgainError)


class _HiredisPacking:
    """Mixin for a redis-py asyncio connection class: the same wire bytes, packed in C."""

    encoder: Any

    def pack_command(self, *args: Any) -> list[bytes]:
        # As redis-py does: a command named in several words ("CONFIG GET") is split.
        if isinstance(args[0], str):
            args = (*args[0].encode().split(), *args[1:])
        elif b" " in args[0]:
            args = (*args[0].split(), *args[1:])
        # Strings and bytes as they are; numbers as redis-py's encoder writes them.
        plain: Any = tuple(
            a if isinstance(a, str | bytes) else self.encoder.encode(a) for a in args
        )
        return [hiredis.pack_command(plain)]


_PACKED: dict[type[AbstractConnection], type[AbstractConnection]] = {}


def _packed(connection_class: type[AbstractConnection]) -> type[AbstractConnection]:
    if connection_class not in _PACKED:
        name = f"Hiredis{connection_class.__name__}"
        _PACKED[connection_class] = type(name, (_HiredisPacking, connection_class), {})
    return _PACKED[connection_class]


def is_cluster_url(url: str) -> bool:
    return urlsplit(url).scheme in CLUSTER_SCHEMES


def is_cluster(redis: Any) -> bool:
    return isinstance(redis, RedisCluster)


def connect(url: str, max_connections: int = 100) -> Redis:
    if is_cluster_url(url):
        return connect_cluster(url, max_connections)
    # A blocking pool waits for a free connection when a burst needs more than it holds;
    # redis-py's default pool raises "Too many connections" instead (bench: 100+ widgets
    # saying hello).
    pool = BlockingConnectionPool.from_url(
        url, decode_responses=True, max_connections=max_connections
    )
    # TCP, TLS or a Unix socket, as the URL says; each packed in C.
    pool.connection_class = _packed(pool.connection_class)
    return Redis.from_pool(pool)


def connect_cluster(url: str, max_connections: int = 100) -> Redis:
    """A Redis Cluster client from `redis+cluster://[user:password@]host:port[,host:port…]`
    (`rediss+cluster://` for TLS). It has the command API of a Redis client (scripts, streams,
    pipelines; transactions of one slot), so the bridge types it as one."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")
    credentials, hosts = netloc[0], netloc[2]
    username, _, password = credentials.partition(":")
    nodes = []
    for host_port in hosts.split(","):
        host, _, port = host_port.strip().rpartition(":")
        nodes.append(ClusterNode(host.strip("[]") or "localhost", int(port or 6379)))
    options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    tls = parts.scheme == "rediss+cluster"
    client = _FailoverCluster(
        startup_nodes=nodes,
        username=unquote(username) or None,
        password=unquote(password) or None,
        decode_responses=True,
        max_connections=max_connections,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), CLUSTER_RETRIES),
        socket_timeout=float(options.get("socket_timeout", 5)),
        socket_connect_timeout=float(options.get("socket_connect_timeout", 2)),
        ssl=tls,
    )
    # (Commands are packed by redis-py itself here, not hiredis: the Cluster client builds its
    # node connections from its own options.)
    return cast(Redis, client)


async def pubsub(redis: Redis, **options: Any) -> Any:
    """`redis.pubsub(**options)`. On Cluster, classic pub/sub (docs/scaling.md): the client
    first learns the slot map (it does so lazily, on its first command), then subscribes on
    the node serving the channel name's slot; the cluster carries every PUBLISH to every node.
    A node lost under it ends the subscription with an error, and the caller subscribes again
    (on the replica promoted in its place)."""
    if is_cluster(redis):
        await cast(Any, redis).initialize()
    return redis.pubsub(**options)


def transaction(redis: Redis) -> Any:
    """A MULTI transaction (`async with transaction(redis) as pipe: ...; await pipe.execute()`).

    On a standalone or Sentinel Redis it is redis-py's MULTI pipeline, exactly. On Cluster
    (`pipeline(transaction=True)` is the same thing there), where one transaction holds the
    keys of one slot, the commands are grouped by slot:
    each group runs as its own transaction, the groups in the order of their last command. The
    callers put their acknowledgement last (Outbox.ack: XACK/XDEL of the stream), so a crash
    between two groups leaves the job unacknowledged: it is delivered again and its bookkeeping
    (idempotent: HSET, SET, SADD, EXPIRE, ZADD) written again."""
    return redis.pipeline(transaction=True)


async def _riding_failover(call: Callable[[], Awaitable[Any]]) -> Any:
    deadline = time.monotonic() + FAILOVER_RIDE_S
    delay = 0.05
    while True:
        try:
            return await call()
        except RETRIED:
            if time.monotonic() + delay > deadline:
                raise
            await asyncio.sleep(delay)  # the cluster is promoting a replica: wait, then retry
            delay = min(delay * 2, 0.5)


class _FailoverCluster(RedisCluster):
    """RedisCluster whose commands ride out a failover (FAILOVER_RIDE_S), and whose MULTI
    transactions may span slots (one transaction per slot: `transaction`)."""

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        return await _riding_failover(
            lambda: super(_FailoverCluster, self).execute_command(*args, **kwargs)
        )

    def pipeline(self, transaction: Any | None = None, shard_hint: Any | None = None) -> Any:
        if transaction:
            return _SlotTransactions(self)
        return super().pipeline(transaction, shard_hint)


class _SlotTransactions:
    """Records pipeline commands (the key is each command's first argument) and runs them as
    one transaction per slot; `execute` answers their results in the order they were given."""

    def __init__(self, cluster: RedisCluster) -> None:
        self._cluster = cluster
        self._commands: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    async def __aenter__(self) -> _SlotTransactions:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._commands = []

    def __getattr__(self, name: str) -> Any:
        def queue(*args: Any, **kwargs: Any) -> _SlotTransactions:
            self._commands.append((name, args, kwargs))
            return self

        return queue

    async def execute(self) -> list[Any]:
        groups: defaultdict[int, list[int]] = defaultdict(list)
        for i, (_, args, _) in enumerate(self._commands):
            groups[self._cluster.keyslot(args[0])].append(i)
        results: list[Any] = [None] * len(self._commands)
        for indexes in sorted(groups.values(), key=lambda group: group[-1]):
            answers = await _riding_failover(functools.partial(self._multi, indexes))
            for i, result in zip(indexes, answers, strict=True):
                results[i] = result
        self._commands = []
        return results

    async def _multi(self, indexes: list[int]) -> list[Any]:
        async with RedisCluster.pipeline(self._cluster, transaction=True) as pipe:
            for i in indexes:
                name, args, kwargs = self._commands[i]
                getattr(pipe, name)(*args, **kwargs)
            return list(await pipe.execute())
