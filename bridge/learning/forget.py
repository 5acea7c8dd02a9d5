"""`make forget CUSTOMER=…`: delete everything kept about one customer, and say what."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis

from bridge import keys
from bridge.models import WIDGET_PREFIX
from bridge.platforms.telegram.chats import conversation_id as telegram_conversation
from bridge.platforms.widget.sessions import revoke as revoke_sessions
from bridge.store.files import Files

# Deletes the bridge's posts of the staff threads given (their ids) on the desk; says what it did.
EraseThreads = Callable[[list[str]], Awaitable[list[str]]]

_CHAT_ID = re.compile(r"^-?\d+$")


async def resolve(redis: Redis, customer: str) -> str:
    """A conversation id, or a Telegram chat id (its conversation is `tg-<chat id>`)."""
    if _CHAT_ID.match(customer) and not await redis.exists(keys.conversation(customer)):
        return telegram_conversation(customer)
    return customer


async def forget(
    redis: Redis,
    conversation_id: str,
    staff_channel: str,
    rasa_redis: Redis | None = None,
    erase_threads: EraseThreads | None = None,
    files: Files | None = None,
) -> list[str]:
    """Delete the conversation's data everywhere the product keeps it; returns what went.
    `erase_threads`: also delete its threads on the desk (bridge/platforms/slack/erase.py).
    `files`: the file store as configured (its directory, if any); by default, Redis's."""
    files = files or Files(redis)
    done: list[str] = []
    info: Any = await redis.hgetall(keys.conversation(conversation_id))
    earlier: Any = await redis.lrange(keys.earlier_threads(conversation_id), 0, -1)
    threads = [t for t in [*earlier, info.get("thread_ts")] if t]
    if erase_threads is not None:
        done += await erase_threads(threads)

    file_ids = set()
    entries: Any = await redis.xrange(keys.transcript(conversation_id))
    for _, fields in entries:
        if fields.get("file"):
            file_ids.add(fields["file"])
    for key in keys.conversation_keys(conversation_id):
        if await redis.delete(key):
            done.append(f"deleted {key}")
    for ts in threads:
        if await redis.delete(keys.slack_thread(staff_channel, ts)):
            done.append(f"deleted {keys.slack_thread(staff_channel, ts)}")
    if customer := info.get("customer_id"):
        # The signed-in customer's index across channels: this conversation and its threads.
        if await redis.srem(keys.customer_conversations(customer), conversation_id):
            done.append(f"removed it from {keys.customer_conversations(customer)}")
        for ts in threads:
            await redis.lrem(keys.customer_threads(customer), 0, ts)
    for file_id in sorted(file_ids):
        if await files.delete(file_id):
            done.append(f"deleted {keys.attachment(file_id)}")
    async for key in redis.scan_iter(match=keys.relayed("*", "*"), count=500):
        if await redis.hget(key, "conversation") == conversation_id and await redis.delete(key):
            done.append(f"deleted {key}")
    # Idempotency markers that name the conversation (e.g. "told them we are busy").
    async for key in redis.scan_iter(match=keys.seen("*", f"*:{conversation_id}:*"), count=500):
        if await redis.delete(key):
            done.append(f"deleted {key}")
    for index in (keys.REVIEW, keys.UNCLAIMED, keys.ACTIVITY):
        if await redis.zrem(index, conversation_id):
            done.append(f"removed it from {index}")
    done += await _forget_spike_examples(redis, conversation_id)
    if conversation_id.startswith(WIDGET_PREFIX):
        # A widget still holding a session token of it starts afresh instead of continuing.
        await revoke_sessions(redis, conversation_id)
        done.append("revoked its widget sessions")
    if rasa_redis is not None and await rasa_redis.delete(keys.rasa_tracker(conversation_id)):
        done.append(f"deleted Rasa tracker {keys.rasa_tracker(conversation_id)}")
    return done


async def _forget_spike_examples(redis: Redis, conversation_id: str) -> list[str]:
    removed = 0
    topics: Any = await redis.smembers(keys.SPIKE_TOPICS)
    for topic in topics:
        events: Any = await redis.zrange(keys.spike_events(topic), 0, -1)
        mine = [e for e in events if json.loads(e).get("c") == conversation_id]
        if mine:
            removed += int(await redis.zrem(keys.spike_events(topic), *mine))
    return [f"removed {removed} topic-spike examples"] if removed else []
