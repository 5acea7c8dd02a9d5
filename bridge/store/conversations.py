"""Conversation records and their modes (assistant, person, closed), changed atomically; every
change that staff must hear about queues its job in the same step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from bridge import keys
from bridge.clock import now_ms
from bridge.models import Channel, Conversation, DeskAction, Mode, RecentIntent
from bridge.outbox.jobs import OpenThread, PostNotice, PostTranscript, UpdateCard
from bridge.outbox.queues import ENQUEUE_LUA, stage

# Switches to HUMAN exactly once, so two racing triggers open one thread, not two, and queues
# the thread's opening jobs in the same step, ahead of anything the customer says next. A
# returning customer's previous thread is kept for the card's "earlier threads" links.
# KEYS: conversation, earlier threads, unclaimed, then the staged jobs. ARGV: reason, id,
# trigger, intents, handoff at, claim deadline ('' none), after hours, language, then the
# staged jobs.
_TAKE_OVER = (
    ENQUEUE_LUA
    + """
if redis.call('HGET', KEYS[1], 'mode') == 'human' then return 0 end
if redis.call('HEXISTS', KEYS[1], 'channel') == 0 then return 0 end
local old = redis.call('HGET', KEYS[1], 'thread_ts')
if old and old ~= '' then redis.call('RPUSH', KEYS[2], old) end
redis.call('HDEL', KEYS[1], 'thread_ts', 'claimed_by', 'claimed_name', 'claimed_at',
           'closed_name', 'handed_back_name', 'bot_reset')
redis.call('HSET', KEYS[1], 'mode', 'human', 'handoff_reason', ARGV[1], 'trigger', ARGV[3],
           'intents', ARGV[4], 'handoff_at', ARGV[5], 'after_hours', ARGV[7],
           'language', ARGV[8])
enqueue(4, 9)
if ARGV[6] ~= '' then redis.call('ZADD', KEYS[3], ARGV[6], ARGV[2]) end
return 1
"""
)

# A staff action on the handoff card (or a first reply, which claims). Only the current thread
# of a conversation a person has can be acted on; the card is re-drawn (the staged job) in the
# same step. Answers: done | again (this person already did it) | taken (someone else claimed) |
# stale. KEYS: conversation, unclaimed, the staged job. ARGV: action, thread, user, name, now,
# id, the staged job.
_DESK_ACTION = (
    ENQUEUE_LUA
    + """
local action, thread, user, name, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local mode = redis.call('HGET', KEYS[1], 'mode')
if redis.call('HGET', KEYS[1], 'thread_ts') ~= thread then return 'stale' end
if action == 'close' and mode == 'closed' then return 'again' end
if action == 'hand_back' and mode == 'bot' then return 'again' end
if mode ~= 'human' then return 'stale' end
if action == 'claim' then
  local by = redis.call('HGET', KEYS[1], 'claimed_by')
  if by and by ~= '' then
    if by == user then return 'again' end
    return 'taken'
  end
  redis.call('HSET', KEYS[1], 'claimed_by', user, 'claimed_name', name, 'claimed_at', now)
elseif action == 'close' then
  redis.call('HSET', KEYS[1], 'mode', 'closed', 'closed_name', name, 'csat_thread', thread)
elseif action == 'hand_back' then
  redis.call('HSET', KEYS[1], 'mode', 'bot', 'handed_back_name', name, 'bot_reset', '1')
else
  return redis.error_reply('unknown desk action ' .. action)
end
redis.call('ZREM', KEYS[2], ARGV[6])
enqueue(3, 7)
return 'done'
"""
)

# The customer's answer to the satisfaction prompt: accepted once, for the thread whose close
# asked it, and posted into that thread (the staged job) in the same step.
# KEYS: conversation, the staged job. ARGV: thread, answer, the staged job.
_CSAT = (
    ENQUEUE_LUA
    + """
if redis.call('HGET', KEYS[1], 'csat_thread') ~= ARGV[1] then return 0 end
redis.call('HDEL', KEYS[1], 'csat_thread')
redis.call('HSET', KEYS[1], 'csat', ARGV[2])
enqueue(2, 3)
return 1
"""
)

_REOPEN = """
if redis.call('HGET', KEYS[1], 'mode') ~= 'closed' then return 0 end
redis.call('HSET', KEYS[1], 'mode', 'bot', 'bot_reset', '1')
return 1
"""

# Handoffs whose no-claim deadline has passed; removing them in the same step means only one
# replica tells the customer.
_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 20)
for _, member in ipairs(due) do redis.call('ZREM', KEYS[1], member) end
return due
"""


# Sets fields of a conversation only while it exists: a late write after it expired or was
# erased must not leave a partial record behind, with no expiry. KEYS: conversation. ARGV:
# field, value pairs.
SET_IF_STORED = """
if redis.call('HEXISTS', KEYS[1], 'channel') == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
"""


def _stored(data: Any) -> bool:
    # A hash without its channel is what a late write left of an expired record: not stored.
    return bool(data) and "channel" in data


@dataclass(frozen=True)
class Handoff:
    """Everything the staff desk needs to open a thread for a conversation."""

    reason: str
    trigger: str
    intents: list[RecentIntent]
    at_ms: int
    claim_deadline_ms: int
    after_hours: bool
    transcript_upto: str  # the last transcript entry the thread's transcript shows
    guest: bool = False  # not signed in: the new thread gives way to others (docs/abuse.md)
    language: str = ""  # ISO 639-1 when not English: the card shows it


def _stream_id(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


class Conversations:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._take_over = redis.register_script(_TAKE_OVER)
        self._desk_action = redis.register_script(_DESK_ACTION)
        self._csat = redis.register_script(_CSAT)
        self._due = redis.register_script(_DUE)
        self._reopen = redis.register_script(_REOPEN)
        self._set_if_stored = redis.register_script(SET_IF_STORED)

    async def get(self, conversation_id: str) -> Conversation | None:
        data: Any = await self._redis.hgetall(keys.conversation(conversation_id))
        return Conversation.from_hash(conversation_id, data) if _stored(data) else None

    async def ensure(
        self,
        conversation_id: str,
        channel: Channel,
        external_id: str,
        display_name: str,
        ttl_s: int = 0,
        source: str = "",
    ) -> Conversation:
        """The conversation, stored now if it was not (its first message), expiring after
        `ttl_s` (0: never) unless it is active again. `source`: where the customer writes from
        (kept when given)."""
        key = keys.conversation(conversation_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hsetnx(key, "channel", str(channel))
            pipe.hsetnx(key, "external_id", external_id)
            pipe.hsetnx(key, "mode", str(Mode.BOT))
            if display_name:
                pipe.hset(key, "display_name", display_name)
            if source:
                pipe.hset(key, "source", source)
            if ttl_s:
                pipe.expire(key, ttl_s)
            pipe.hgetall(key)
            *_, data = await pipe.execute()
        return Conversation.from_hash(conversation_id, data)

    async def for_turn(
        self, conversation_id: str, entry_id: str
    ) -> tuple[Conversation | None, bool]:
        """The conversation, and whether the bot already answered customer message `entry_id`
        (or a later one), in one read."""
        data: Any = await self._redis.hgetall(keys.conversation(conversation_id))
        if not _stored(data):
            return None, False
        upto = data.get("answered_upto")
        answered = upto is not None and _stream_id(entry_id) <= _stream_id(str(upto))
        return Conversation.from_hash(conversation_id, data), answered

    async def mark_answered(self, conversation_id: str, entry_id: str) -> None:
        await self._set_if_stored(
            keys=[keys.conversation(conversation_id)], args=["answered_upto", entry_id]
        )

    async def take_over(self, conversation_id: str, handoff: Handoff) -> bool:
        """Hand the conversation to a person and queue its thread: the card, then the
        transcript. False, and nothing queued, if a person already had it."""
        staged = stage(
            OpenThread(conversation_id, handoff.guest),
            PostTranscript(conversation_id, handoff.transcript_upto, handoff.guest),
        )
        taken = await self._take_over(
            keys=[
                keys.conversation(conversation_id),
                keys.earlier_threads(conversation_id),
                keys.unclaimed(conversation_id),
                *staged.keys,
            ],
            args=[
                handoff.reason,
                conversation_id,
                handoff.trigger,
                RecentIntent.dump_list(handoff.intents),
                str(handoff.at_ms),
                str(handoff.claim_deadline_ms) if handoff.claim_deadline_ms else "",
                "1" if handoff.after_hours else "0",
                handoff.language,
                staged.arg,
            ],
        )
        return bool(taken)

    async def desk_action(
        self,
        conversation_id: str,
        action: DeskAction,
        thread: str,
        user_id: str,
        user_name: str,
    ) -> str:
        """Claim, close or hand back, and redraw the card; see _DESK_ACTION for the answers."""
        staged = stage(UpdateCard(conversation_id, thread))
        outcome = await self._desk_action(
            keys=[
                keys.conversation(conversation_id),
                keys.unclaimed(conversation_id),
                *staged.keys,
            ],
            args=[
                str(action),
                thread,
                user_id,
                user_name,
                str(now_ms()),
                conversation_id,
                staged.arg,
            ],
        )
        return str(outcome)

    async def reopen_for_bot(self, conversation_id: str) -> None:
        """A closed conversation goes back to the assistant, which starts afresh."""
        await self._reopen(keys=[keys.conversation(conversation_id)])

    async def bot_was_reset(self, conversation_id: str) -> None:
        await self._redis.hdel(keys.conversation(conversation_id), "bot_reset")

    async def record_csat(
        self, conversation: Conversation, answer: str, notice: PostNotice
    ) -> bool:
        """Keep the satisfaction answer, for the thread whose close asked it, and queue `notice`
        for that thread; False if this conversation was not asked (or already answered)."""
        if not conversation.csat_thread:
            return False
        staged = stage(notice)
        accepted = await self._csat(
            keys=[keys.conversation(conversation.id), *staged.keys],
            args=[conversation.csat_thread, answer, staged.arg],
        )
        return bool(accepted)

    async def due_unclaimed(self, now: int) -> list[str]:
        found: list[str] = []
        # One index per partition tag (keys.unclaimed), each taken from in its own step.
        for index in keys.unclaimed_shards():
            due: Any = await self._due(keys=[index], args=[str(now)])
            found += [str(d) for d in due]
        return found
