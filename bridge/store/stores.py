"""The bridge's Redis stores, built once per process (bridge/app.py)."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from bridge.store.conversations import Conversations
from bridge.store.dedupe import Dedupe
from bridge.store.files import Files
from bridge.store.identities import Identities
from bridge.store.threads import Threads
from bridge.store.transcript import Transcripts


@dataclass(frozen=True)
class Store:
    conversations: Conversations
    transcripts: Transcripts
    threads: Threads
    files: Files
    dedupe: Dedupe
    identities: Identities

    @classmethod
    def on(cls, redis: Redis) -> Store:
        return cls(
            Conversations(redis),
            Transcripts(redis),
            Threads(redis),
            Files(redis),
            Dedupe(redis),
            Identities(redis),
        )
