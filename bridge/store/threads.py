"""Slack threads: which conversation each staff thread belongs to, the threads a returning
customer had before, and what each relayed staff message became on the customer's side."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from bridge import keys
from bridge.models import Channel, Conversation, StaffMessageRef
from bridge.outbox.delivery import Step

# A staff reply's first step: the conversation its thread belongs to (a GET of the thread map),
# then the fields of its state (an HMGET). Two commands, not one script: the conversation's key
# is known only from the id read, and on Redis Cluster a script must declare every key it
# touches (docs/scaling.md). Each process remembers the threads it looked up (below), so the
# second round trip is paid once per thread.
# What a staff reply reads of the conversation: where it goes, whether it may, whether it claims.
# Reading only these (not the whole hash, with its card data) keeps the reply cheap to parse.
_STAFF_FIELDS = ("channel", "mode", "thread_ts", "claimed_by")
# A thread's conversation (and that conversation's channel) never change once the thread is open:
# a new handoff opens a new thread. So each process remembers the threads it has looked up, and a
# reply in one of them can skip the lookup (StaffSide.staff_reply). Bounded, since threads
# accumulate.
KNOWN_THREADS_MAX = 10_000


@dataclass(frozen=True)
class RelayRecord:
    """A staff message sent on to a customer (written by Outbox.relay_staff)."""

    conversation: str
    message_id: str  # its transcript entry
    platform_ids: tuple[int, ...] = ()  # the ids the customer's platform gave it (Telegram)


class Threads:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._known: dict[tuple[str, str], tuple[str, Channel]] = {}

    @staticmethod
    def link_step(conversation_id: str, channel: str, thread: str, customer_id: str = "") -> Step:
        """The writes that make `thread` the conversation's current thread (and one of its
        signed-in customer's threads), for the transaction that acknowledges the card's post."""

        def link(pipe: Any) -> None:
            pipe.hset(keys.conversation(conversation_id), "thread_ts", thread)
            pipe.set(keys.slack_thread(channel, thread), conversation_id)
            if customer_id:
                pipe.rpush(keys.customer_threads(customer_id), thread)
                pipe.expire(keys.customer_threads(customer_id), keys.CUSTOMER_INDEX_TTL_S)

        return link

    async def staff_thread(
        self, channel: str, thread: str
    ) -> tuple[str, Conversation | None] | None:
        """The conversation of a staff thread, in one round trip: None when the thread is not
        one of ours; (id, None) when the conversation is gone (forgotten). The Conversation
        holds only what a staff reply reads (_STAFF_FIELDS); Conversations.get has the rest."""
        found: Any = await self._redis.get(keys.slack_thread(channel, thread))
        if not found:
            return None
        conversation_id = str(found)
        values: Any = await self._redis.hmget(keys.conversation(conversation_id), _STAFF_FIELDS)
        data = {k: v for k, v in zip(_STAFF_FIELDS, values, strict=True) if v is not None}
        if "channel" not in data:
            return conversation_id, None
        conversation = Conversation.from_hash(conversation_id, data)
        if len(self._known) >= KNOWN_THREADS_MAX:
            self._known.clear()  # cheap to refill: one lookup per thread
        self._known[channel, thread] = (conversation_id, conversation.channel)
        return conversation_id, conversation

    def known_thread(self, channel: str, thread: str) -> tuple[str, Channel] | None:
        """The conversation id and channel of a thread staff_thread already found, if any. A
        forgotten conversation may still be named here; the relay script's guard notices."""
        return self._known.get((channel, thread))

    async def conversation_for_thread(self, channel: str, thread: str) -> str | None:
        value = await self._redis.get(keys.slack_thread(channel, thread))
        return str(value) if value is not None else None

    async def earlier_threads(self, conversation_id: str) -> list[str]:
        """The conversation's earlier threads, oldest first (a returning customer)."""
        threads: Any = await self._redis.lrange(keys.earlier_threads(conversation_id), 0, -1)
        return [str(t) for t in threads]

    async def relay(self, ref: StaffMessageRef, conversation_id: str) -> RelayRecord | None:
        """What staff message `ref` (in a thread of the conversation) became, if it was
        relayed."""
        data: Any = await self._redis.hgetall(keys.relayed(conversation_id, ref.channel, ref.id))
        if not data.get("conversation"):
            return None
        ids = tuple(int(i) for i in str(data.get("telegram_ids") or "").split(",") if i)
        return RelayRecord(str(data["conversation"]), str(data.get("message_id") or ""), ids)

    @staticmethod
    def sent_ids_step(ref: StaffMessageRef, conversation_id: str, platform_ids: list[int]) -> Step:
        """The writes that remember the ids a platform gave a relayed staff message (so an edit
        can find them), for the transaction that acknowledges its delivery."""

        def remember(pipe: Any) -> None:
            key = keys.relayed(conversation_id, ref.channel, ref.id)
            pipe.hset(key, "telegram_ids", ",".join(str(i) for i in platform_ids))
            pipe.expire(key, keys.RELAY_TTL_S)

        return remember
