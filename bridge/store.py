"""Conversations, transcripts and the Slack thread map, kept in Redis."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from bridge import keys
from bridge.models import Channel, Conversation, Message, Mode

# Records an inbound message once: a retried delivery of the same event id returns the entry it
# created the first time instead of a second transcript line. While a person has the
# conversation, the same step queues the message for the staff thread, so it cannot be
# recorded and then lost before it reaches Slack.
_RECORD_ONCE = """
local mode = redis.call('HGET', KEYS[3], 'mode')
local existing = redis.call('GET', KEYS[1])
if existing then return {0, existing, mode} end
local id = redis.call('XADD', KEYS[2], '*', unpack(ARGV, 4))
redis.call('SET', KEYS[1], id, 'EX', ARGV[1])
if mode == 'human' then
  redis.call('XADD', KEYS[4], '*', 'kind', 'thread_post', 'conversation', ARGV[2],
             'as', 'customer', 'text', ARGV[3])
end
return {1, id, mode}
"""

# Switches BOT -> HUMAN exactly once, so two racing triggers open one thread, not two, and
# queues the thread's opening posts in the same step, ahead of anything the customer says next.
_TAKE_OVER = """
if redis.call('HGET', KEYS[1], 'mode') == 'human' then return 0 end
redis.call('HSET', KEYS[1], 'mode', 'human', 'handoff_reason', ARGV[1])
redis.call('XADD', KEYS[2], '*', 'kind', 'open_thread', 'conversation', ARGV[2], 'text', ARGV[3])
for i = 4, #ARGV do
  redis.call('XADD', KEYS[2], '*', 'kind', 'thread_post', 'conversation', ARGV[2],
             'as', 'raw', 'text', ARGV[i])
end
return 1
"""

HISTORY_LIMIT = 200


@dataclass(frozen=True)
class Inbound:
    message: Message
    is_new: bool
    mode: Mode


def _stream_id(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


class ConversationStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._record_once = redis.register_script(_RECORD_ONCE)
        self._take_over = redis.register_script(_TAKE_OVER)

    async def get(self, conversation_id: str) -> Conversation | None:
        data: Any = await self._redis.hgetall(keys.conversation(conversation_id))
        return Conversation.from_hash(conversation_id, data) if data else None

    async def ensure(
        self, conversation_id: str, channel: Channel, external_id: str, display_name: str
    ) -> Conversation:
        key = keys.conversation(conversation_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hsetnx(key, "channel", str(channel))
            pipe.hsetnx(key, "external_id", external_id)
            pipe.hsetnx(key, "mode", str(Mode.BOT))
            if display_name:
                pipe.hset(key, "display_name", display_name)
            pipe.hgetall(key)
            *_, data = await pipe.execute()
        return Conversation.from_hash(conversation_id, data)

    async def record_inbound(
        self, conversation_id: str, message: Message, source: str, event_id: str
    ) -> Inbound:
        """Append a customer message unless this event id was already recorded."""
        argv: list[str] = [str(keys.DEDUPE_TTL_S), conversation_id, message.text]
        for name, value in message.to_fields().items():
            argv += [name, value]
        is_new, entry_id, mode = await self._record_once(
            keys=[
                keys.seen(source, event_id),
                keys.transcript(conversation_id),
                keys.conversation(conversation_id),
                keys.SLACK_OUTBOX,
            ],
            args=argv,
        )
        stored = Message(**{**message.__dict__, "id": entry_id})
        return Inbound(stored, bool(is_new), Mode(mode or Mode.BOT))

    async def mark_answered(self, conversation_id: str, entry_id: str) -> None:
        await self._redis.hset(keys.conversation(conversation_id), "answered_upto", entry_id)

    async def is_answered(self, conversation_id: str, entry_id: str) -> bool:
        """Whether the bot already answered this customer message (or a later one)."""
        upto = await self._redis.hget(keys.conversation(conversation_id), "answered_upto")
        return upto is not None and _stream_id(entry_id) <= _stream_id(str(upto))

    @staticmethod
    def event_key(source: str, event_id: str) -> str:
        return keys.seen(source, event_id)

    async def forward_to_thread(self, conversation_id: str, text: str) -> None:
        await self._redis.xadd(
            keys.SLACK_OUTBOX,
            {
                "kind": "thread_post",
                "conversation": conversation_id,
                "as": "customer",
                "text": text,
            },
        )

    async def history(self, conversation_id: str, since: str | None = None) -> list[Message]:
        key = keys.transcript(conversation_id)
        entries: Any
        if since:
            entries = await self._redis.xrange(key, min="(" + since, count=HISTORY_LIMIT)
        else:
            newest_first: Any = await self._redis.xrevrange(key, count=HISTORY_LIMIT)
            entries = list(reversed(newest_first))
        return [Message.from_fields(entry_id, fields) for entry_id, fields in entries]

    async def take_over(self, conversation_id: str, reason: str, thread_posts: list[str]) -> bool:
        """Hand the conversation to a person and queue the staff thread's opening posts.

        False, and nothing queued, if a person already had it.
        """
        taken = await self._take_over(
            keys=[keys.conversation(conversation_id), keys.SLACK_OUTBOX],
            args=[reason, conversation_id, *thread_posts],
        )
        return bool(taken)

    async def link_thread(self, conversation_id: str, channel: str, thread_ts: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.conversation(conversation_id), "thread_ts", thread_ts)
            pipe.set(keys.slack_thread(channel, thread_ts), conversation_id)
            await pipe.execute()

    async def conversation_for_thread(self, channel: str, thread_ts: str) -> str | None:
        value = await self._redis.get(keys.slack_thread(channel, thread_ts))
        return str(value) if value is not None else None
