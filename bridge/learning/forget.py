"""`make forget CUSTOMER=…`: delete everything kept about one customer, and say what."""

from __future__ import annotations

import json
import re
from typing import Any

from redis.asyncio import Redis
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bridge import keys

_CHAT_ID = re.compile(r"^-?\d+$")


async def resolve(redis: Redis, customer: str) -> str:
    """A conversation id, or a Telegram chat id (its conversation is `tg-<chat id>`)."""
    if _CHAT_ID.match(customer) and not await redis.exists(keys.conversation(customer)):
        return f"tg-{customer}"
    return customer


async def forget(
    redis: Redis,
    conversation_id: str,
    staff_channel: str,
    rasa_redis: Redis | None = None,
    slack: AsyncWebClient | None = None,
) -> list[str]:
    """Delete the conversation's data everywhere the product keeps it; returns what went."""
    done: list[str] = []
    info: Any = await redis.hgetall(keys.conversation(conversation_id))
    earlier: Any = await redis.lrange(keys.earlier_threads(conversation_id), 0, -1)
    threads = [t for t in [*earlier, info.get("thread_ts")] if t]
    if slack is not None:
        for ts in threads:
            done += await _delete_thread(slack, staff_channel, ts)

    files = set()
    entries: Any = await redis.xrange(keys.transcript(conversation_id))
    for _, fields in entries:
        if fields.get("file"):
            files.add(fields["file"])
    for key in keys.conversation_keys(conversation_id):
        if await redis.delete(key):
            done.append(f"deleted {key}")
    for ts in threads:
        if await redis.delete(keys.slack_thread(staff_channel, ts)):
            done.append(f"deleted {keys.slack_thread(staff_channel, ts)}")
    for file_id in sorted(files):
        if await redis.delete(keys.attachment(file_id)):
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


async def _delete_thread(slack: AsyncWebClient, channel: str, thread_ts: str) -> list[str]:
    """The bridge's own posts in the thread (card, transcript, customer messages). Staff
    members' replies can only be deleted by them or a workspace admin."""
    try:
        found = await slack.conversations_replies(channel=channel, ts=thread_ts, limit=1000)
    except SlackApiError as exc:
        return [f"Slack thread {thread_ts}: not read ({exc.response.get('error')})"]
    messages = list(found.get("messages") or [])
    ours = [m for m in messages if m.get("bot_id")]
    # Replies first: deleting the card first would leave them orphaned in some clients.
    deleted = 0
    for message in sorted(ours, key=lambda m: m["ts"] == thread_ts):
        try:
            await slack.chat_delete(channel=channel, ts=message["ts"])
            deleted += 1
        except SlackApiError:
            pass
    left = len(messages) - deleted
    note = f"; {left} staff posts remain (delete them in Slack)" if left else ""
    return [f"deleted {deleted} bridge posts of Slack thread {thread_ts}{note}"]
