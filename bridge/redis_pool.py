"""The bridge's Redis client: one blocking pool per process, whose connections pack commands
with hiredis.

redis-py's asyncio connections pack every command in Python, copying the command so far once
per argument; hiredis does it in C. The relay's hot script call has a few dozen arguments, and
packing was a tenth of the bridge's CPU at saturation (docs/benchmarks.md, measurement 2).
"""

from __future__ import annotations

from typing import Any

import hiredis
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.connection import AbstractConnection


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


def connect(url: str, max_connections: int = 100) -> Redis:
    # A blocking pool waits for a free connection when a burst needs more than it holds;
    # redis-py's default pool raises "Too many connections" instead (bench: 100+ widgets
    # saying hello).
    pool = BlockingConnectionPool.from_url(
        url, decode_responses=True, max_connections=max_connections
    )
    # TCP, TLS or a Unix socket, as the URL says; each packed in C.
    pool.connection_class = _packed(pool.connection_class)
    return Redis.from_pool(pool)
