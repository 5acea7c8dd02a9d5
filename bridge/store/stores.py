"""The bridge's Redis stores, built once per process (bridge/app.py)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from redis.asyncio import Redis

from bridge.observability import metrics
from bridge.store.conversations import Conversations
from bridge.store.dedupe import Dedupe
from bridge.store.files import Files, FilesConfig, FilesSettings
from bridge.store.identities import Identities
from bridge.store.threads import Threads
from bridge.store.transcript import Transcripts

log = logging.getLogger(__name__)

# How often each replica prunes expired files and refreshes the storage gauges.
UPKEEP_INTERVAL_S = 10.0


@dataclass(frozen=True)
class Store:
    conversations: Conversations
    transcripts: Transcripts
    threads: Threads
    files: Files
    dedupe: Dedupe
    identities: Identities

    @classmethod
    def on(
        cls,
        redis: Redis,
        settings: FilesSettings | None = None,
        files: FilesConfig | None = None,
    ) -> Store:
        """`settings` (the bridge's Settings) or `files` configure the file store; with
        neither, files are kept in Redis with the default cap and retention."""
        if files is None:
            files = FilesConfig.from_settings(settings) if settings is not None else FilesConfig()
        return cls(
            Conversations(redis),
            Transcripts(redis),
            Threads(redis),
            Files(redis, files),
            Dedupe(redis),
            Identities(redis),
        )

    async def upkeep(self, redis: Redis, interval_s: float = UPKEEP_INTERVAL_S) -> None:
        """Runs for the life of the process: deletes the contents of expired files (a directory
        does not expire by itself) and keeps the storage gauges fresh (files held and their cap,
        Redis's memory and its maxmemory)."""
        while True:
            # Apart, so that a Redis refusing writes (full) still reports its memory.
            try:
                await metrics.refresh_redis_memory(redis)
            except Exception as exc:  # a Redis blip only delays the gauges
                log.warning("could not read Redis's memory: %s", exc)
            try:
                await self.files.held_bytes()  # prunes, and sets bridge_files_bytes
            except Exception as exc:
                log.warning("could not prune expired files: %s", exc)
            await asyncio.sleep(interval_s)
