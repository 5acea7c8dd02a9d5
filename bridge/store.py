"""Conversations, transcripts and the Slack thread map, kept in Redis."""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass, replace
from typing import Any

from redis.asyncio import Redis

from bridge import keys, rate_limits, widget_events
from bridge.models import Attachment, Channel, Conversation, Message, Mode, RecentIntent
from bridge.observability import timeline

# Records an inbound message once: a retried delivery of the same event id returns the entry it
# created the first time instead of a second transcript line. A new message is first checked
# against the customer's quota, when one is given (rate_limits.QUOTA_LUA; answers -1 having
# written nothing when it is over). While a person has the conversation, the same step queues
# the message for the staff thread, so it cannot be recorded and then lost before it reaches
# Slack. It also stamps the timeline (active now; started) and echoes the line to the
# customer's widget sockets. All in one round trip: the bot's answer waits for this step
# (docs/benchmarks.md, measurement 1).
# KEYS: seen, transcript, conversation, Slack partition, activity, quota (any key when none).
# ARGV: ttl, conversation id, text, file, now (ms; '' skips the timeline), the timeline's
# started field, widget channel ('': no echo) and the event around the id
# (widget_events.around_id), messages per minute ('': no quota), then the message's fields.
_RECORD_ONCE = (
    """
local mode = redis.call('HGET', KEYS[3], 'mode')
local existing = redis.call('GET', KEYS[1])
if existing then return {0, existing, mode} end
local quota_key, per_minute = '', ARGV[10]
if per_minute ~= '' then quota_key = KEYS[6] end
"""
    + rate_limits.QUOTA_LUA
    + """
if over_quota then return {-1, '', mode} end
local id = redis.call('XADD', KEYS[2], '*', unpack(ARGV, 11))
redis.call('SET', KEYS[1], id, 'EX', ARGV[1])
if mode == 'human' then
  redis.call('XADD', KEYS[4], '*', 'kind', 'thread_post', 'conversation', ARGV[2],
             'as', 'customer', 'text', ARGV[3], 'file', ARGV[4])
end
if ARGV[5] ~= '' then
  redis.call('ZADD', KEYS[5], ARGV[5], ARGV[2])
  redis.call('HSETNX', KEYS[3], ARGV[6], ARGV[5])
end
local channel, head, tail = ARGV[7], ARGV[8], ARGV[9]
"""
    + widget_events.PUBLISH_LUA
    + """
return {1, id, mode}
"""
)

# Switches to HUMAN exactly once, so two racing triggers open one thread, not two, and queues
# the thread's opening posts in the same step, ahead of anything the customer says next. A
# returning customer's previous thread is kept for the card's "earlier threads" links.
_TAKE_OVER = """
if redis.call('HGET', KEYS[1], 'mode') == 'human' then return 0 end
local old = redis.call('HGET', KEYS[1], 'thread_ts')
if old and old ~= '' then redis.call('RPUSH', KEYS[3], old) end
redis.call('HDEL', KEYS[1], 'thread_ts', 'claimed_by', 'claimed_name', 'claimed_at',
           'closed_name', 'handed_back_name', 'bot_reset')
redis.call('HSET', KEYS[1], 'mode', 'human', 'handoff_reason', ARGV[1], 'trigger', ARGV[3],
           'intents', ARGV[4], 'handoff_at', ARGV[5], 'after_hours', ARGV[7])
redis.call('XADD', KEYS[2], '*', 'kind', 'open_thread', 'conversation', ARGV[2])
for i = 8, #ARGV do
  redis.call('XADD', KEYS[2], '*', 'kind', 'thread_post', 'conversation', ARGV[2],
             'as', 'raw', 'text', ARGV[i])
end
if ARGV[6] ~= '' then redis.call('ZADD', KEYS[4], ARGV[6], ARGV[2]) end
return 1
"""

# A staff action on the handoff card (or a first reply, which claims). Only the current thread
# of a conversation a person has can be acted on; the card is re-drawn in the same step.
# Answers: done | again (this person already did it) | taken (someone else claimed) | stale.
_DESK_ACTION = """
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
redis.call('ZREM', KEYS[3], ARGV[6])
redis.call('XADD', KEYS[2], '*', 'kind', 'update_card', 'conversation', ARGV[6],
           'thread_ts', thread)
return 'done'
"""

# The customer's answer to the satisfaction prompt: accepted once per closed thread, and posted
# into that thread in the same step.
_CSAT = """
local thread = redis.call('HGET', KEYS[1], 'csat_thread')
if not thread or thread == '' then return 0 end
redis.call('HDEL', KEYS[1], 'csat_thread')
redis.call('HSET', KEYS[1], 'csat', ARGV[2])
redis.call('XADD', KEYS[2], '*', 'kind', 'thread_post', 'conversation', ARGV[1], 'as', 'raw',
           'text', ARGV[3], 'thread_ts', thread)
return 1
"""

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

# A staff reply's first step in one round trip: the conversation its thread belongs to, and the
# fields of its state named in ARGV[2..] (false: not one of our threads). The conversation key is
# built from the id just read, so it is not declared in KEYS: fine on a standalone or Sentinel
# Redis, one more script to change for Cluster (docs/scaling.md).
_STAFF_THREAD = """
local id = redis.call('GET', KEYS[1])
if not id then return false end
return {id, redis.call('HMGET', ARGV[1] .. id, unpack(ARGV, 2))}
"""
# What a staff reply reads of the conversation: where it goes, whether it may, whether it claims.
# Reading only these (not the whole hash, with its card data) keeps the reply cheap to parse.
_STAFF_FIELDS = ("channel", "mode", "thread_ts", "claimed_by")
# A thread's conversation (and that conversation's channel) never change once the thread is open:
# a new handoff opens a new thread. So each process remembers the threads it has looked up, and a
# reply in one of them can skip the lookup (Router.staff_post). Bounded, since threads accumulate.
KNOWN_THREADS_MAX = 10_000

HISTORY_LIMIT = 200


@dataclass(frozen=True)
class Handoff:
    """Everything the staff desk needs to open a thread for a conversation."""

    reason: str
    trigger: str
    intents: list[RecentIntent]
    at_ms: int
    claim_deadline_ms: int
    after_hours: bool
    thread_posts: list[str]


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class Inbound:
    message: Message
    is_new: bool
    mode: Mode
    over_quota: bool = False  # refused: the customer's quota was spent (nothing recorded)


def _stream_id(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


class ConversationStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._record_once = redis.register_script(_RECORD_ONCE)
        self._take_over = redis.register_script(_TAKE_OVER)
        self._desk_action = redis.register_script(_DESK_ACTION)
        self._csat = redis.register_script(_CSAT)
        self._due = redis.register_script(_DUE)
        self._reopen = redis.register_script(_REOPEN)
        self._staff_thread = redis.register_script(_STAFF_THREAD)
        self._known_threads: dict[tuple[str, str], tuple[str, Channel]] = {}

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
        self,
        conversation_id: str,
        message: Message,
        source: str,
        event_id: str,
        active_at_ms: int | None = None,
        widget_event: list[str] | None = None,
        quota: tuple[str, int] | None = None,
    ) -> Inbound:
        """Append a customer message unless this event id was already recorded.

        `active_at_ms`: stamp the timeline (the conversation is active; its start if new).
        `widget_event`: publish the line to the conversation's widget sockets in the same step
        (Outbox.widget_event's script arguments). `quota`: (key, per minute) of the customer's
        quota (CustomerQuota.in_script); a new message over it is refused (`over_quota`).
        """
        quota_key, per_minute = quota or (keys.seen(source, event_id), "")
        argv: list[str] = [str(keys.DEDUPE_TTL_S), conversation_id, message.text, message.file_id]
        argv += ["" if active_at_ms is None else str(active_at_ms), timeline.STARTED]
        argv += widget_event or ["", "", ""]
        argv += [str(per_minute)]
        for name, value in message.to_fields().items():
            argv += [name, value]
        is_new, entry_id, mode = await self._record_once(
            keys=[
                keys.seen(source, event_id),
                keys.transcript(conversation_id),
                keys.conversation(conversation_id),
                keys.slack_outbox(conversation_id),
                keys.ACTIVITY,
                quota_key,
            ],
            args=argv,
        )
        if is_new == -1:
            return Inbound(message, False, Mode(mode or Mode.BOT), over_quota=True)
        stored = Message(**{**message.__dict__, "id": entry_id})
        return Inbound(stored, bool(is_new), Mode(mode or Mode.BOT))

    async def mark_answered(self, conversation_id: str, entry_id: str) -> None:
        await self._redis.hset(keys.conversation(conversation_id), "answered_upto", entry_id)

    async def for_turn(
        self, conversation_id: str, entry_id: str
    ) -> tuple[Conversation | None, bool]:
        """The conversation, and whether the bot already answered customer message `entry_id`
        (or a later one), in one read."""
        data: Any = await self._redis.hgetall(keys.conversation(conversation_id))
        if not data:
            return None, False
        upto = data.get("answered_upto")
        answered = upto is not None and _stream_id(entry_id) <= _stream_id(str(upto))
        return Conversation.from_hash(conversation_id, data), answered

    @staticmethod
    def event_key(source: str, event_id: str) -> str:
        return keys.seen(source, event_id)

    async def put_file(self, attachment: Attachment, owner: str = "") -> str:
        """Keep a photo or file for delivery and history; returns its unguessable id.

        `owner`: the conversation that uploaded it, when a customer sends it separately.
        """
        file_id = secrets.token_urlsafe(18)
        key = keys.attachment(file_id)
        data = base64.b64encode(attachment.data).decode()  # the client decodes replies as text
        fields: dict[Any, Any] = {
            "name": attachment.name,
            "type": attachment.type,
            "data": data,
            "owner": owner,
        }
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=fields)
            pipe.expire(key, keys.ATTACHMENT_TTL_S)
            await pipe.execute()
        return file_id

    async def file_meta(self, file_id: str) -> dict[str, str] | None:
        """Name, type and owner of a stored file, without its contents."""
        found: Any = await self._redis.hmget(keys.attachment(file_id), ["name", "type", "owner"])
        name, kind, owner = found
        if name is None:
            return None
        return {"name": str(name), "type": str(kind), "owner": str(owner or "")}

    async def get_file(self, file_id: str) -> Attachment | None:
        found: Any = await self._redis.hgetall(keys.attachment(file_id))
        if not found:
            return None
        return Attachment(base64.b64decode(found["data"]), found["name"], found["type"])

    async def first_time(self, key: str) -> bool:
        """True once per `key` (an `event_key`): makes a redelivered event's side effect a no-op."""
        return bool(await self._redis.set(key, "1", nx=True, ex=keys.DEDUPE_TTL_S))

    async def forward_to_thread(self, conversation_id: str, text: str, file_id: str = "") -> None:
        await self._redis.xadd(
            keys.slack_outbox(conversation_id),
            {
                "kind": "thread_post",
                "conversation": conversation_id,
                "as": "customer",
                "text": text,
                "file": file_id,
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
        messages = [Message.from_fields(entry_id, fields) for entry_id, fields in entries]
        edits: Any = await self._redis.hgetall(keys.transcript_edits(conversation_id))
        return _apply_edits(messages, edits) if edits else messages

    async def take_over(self, conversation_id: str, handoff: Handoff) -> bool:
        """Hand the conversation to a person and queue the staff thread's opening posts.

        False, and nothing queued, if a person already had it.
        """
        taken = await self._take_over(
            keys=[
                keys.conversation(conversation_id),
                keys.slack_outbox(conversation_id),
                keys.earlier_threads(conversation_id),
                keys.UNCLAIMED,
            ],
            args=[
                handoff.reason,
                conversation_id,
                handoff.trigger,
                RecentIntent.dump_list(handoff.intents),
                str(handoff.at_ms),
                str(handoff.claim_deadline_ms) if handoff.claim_deadline_ms else "",
                "1" if handoff.after_hours else "0",
                *handoff.thread_posts,
            ],
        )
        return bool(taken)

    async def desk_action(
        self, conversation_id: str, action: str, thread_ts: str, user_id: str, user_name: str
    ) -> str:
        """Claim, close or hand back; see _DESK_ACTION for the answers."""
        outcome = await self._desk_action(
            keys=[
                keys.conversation(conversation_id),
                keys.slack_outbox(conversation_id),
                keys.UNCLAIMED,
            ],
            args=[action, thread_ts, user_id, user_name, str(now_ms()), conversation_id],
        )
        return str(outcome)

    async def reopen_for_bot(self, conversation_id: str) -> None:
        """A closed conversation goes back to the assistant, which starts afresh."""
        await self._reopen(keys=[keys.conversation(conversation_id)])

    async def bot_was_reset(self, conversation_id: str) -> None:
        await self._redis.hdel(keys.conversation(conversation_id), "bot_reset")

    async def record_csat(self, conversation_id: str, answer: str, thread_post: str) -> bool:
        """Keep the satisfaction answer and post it to the closed thread; False if not asked."""
        accepted = await self._csat(
            keys=[keys.conversation(conversation_id), keys.slack_outbox(conversation_id)],
            args=[conversation_id, answer, thread_post],
        )
        return bool(accepted)

    async def due_unclaimed(self, now: int) -> list[str]:
        due: Any = await self._due(keys=[keys.UNCLAIMED], args=[str(now)])
        return [str(d) for d in due]

    async def earlier_threads(self, conversation_id: str) -> list[str]:
        threads: Any = await self._redis.lrange(keys.earlier_threads(conversation_id), 0, -1)
        return [str(t) for t in threads]

    async def queue_slack(self, job: dict[str, str]) -> None:
        """A job for the Slack sender (a thread post, a reaction, a card update)."""
        fields: dict[Any, Any] = job
        await self._redis.xadd(keys.slack_outbox(job.get("conversation", "")), fields)

    async def relay(self, channel: str, ts: str) -> dict[str, str]:
        """Which transcript line a staff message became (written by Outbox.relay_staff)."""
        data: Any = await self._redis.hgetall(keys.relayed(channel, ts))
        return dict(data)

    async def delivered(
        self,
        channel: str,
        ts: str,
        telegram_ids: list[int],
        receipt: dict[str, str],
        entries: list[tuple[str, str]],
    ) -> None:
        """A relayed staff message reached Telegram: keep its message ids, queue the receipt
        and acknowledge its outbox `entries` (stream, id) in the same transaction, so a crash
        cannot leave it recorded as sent yet still queued (it would be sent twice)."""
        key = keys.relayed(channel, ts)
        fields: dict[Any, Any] = receipt
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, "telegram_ids", ",".join(str(i) for i in telegram_ids))
            pipe.expire(key, keys.RELAY_TTL_S)
            pipe.xadd(keys.slack_outbox(receipt.get("conversation", "")), fields)
            for stream, entry_id in entries:
                pipe.xack(stream, keys.SENDER_GROUP, entry_id)
            await pipe.execute()

    async def link_thread(self, conversation_id: str, channel: str, thread_ts: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.conversation(conversation_id), "thread_ts", thread_ts)
            pipe.set(keys.slack_thread(channel, thread_ts), conversation_id)
            await pipe.execute()

    async def staff_thread(
        self, channel: str, thread_ts: str
    ) -> tuple[str, Conversation | None] | None:
        """The conversation of a staff thread, in one round trip: None when the thread is not
        one of ours; (id, None) when the conversation is gone (forgotten). The Conversation
        holds only what a staff reply reads (_STAFF_FIELDS); use get() for the rest."""
        found: Any = await self._staff_thread(
            keys=[keys.slack_thread(channel, thread_ts)],
            args=[keys.CONVERSATION_PREFIX, *_STAFF_FIELDS],
        )
        if not found:
            return None
        conversation_id, values = str(found[0]), found[1]
        data = {k: v for k, v in zip(_STAFF_FIELDS, values, strict=True) if v is not None}
        if "channel" not in data:
            return conversation_id, None
        conversation = Conversation.from_hash(conversation_id, data)
        if len(self._known_threads) >= KNOWN_THREADS_MAX:
            self._known_threads.clear()  # cheap to refill: one lookup per thread
        self._known_threads[channel, thread_ts] = (conversation_id, conversation.channel)
        return conversation_id, conversation

    def known_thread(self, channel: str, thread_ts: str) -> tuple[str, Channel] | None:
        """The conversation id and channel of a thread staff_thread already found, if any. A
        forgotten conversation may still be named here; the relay script's guard notices."""
        return self._known_threads.get((channel, thread_ts))

    async def conversation_for_thread(self, channel: str, thread_ts: str) -> str | None:
        value = await self._redis.get(keys.slack_thread(channel, thread_ts))
        return str(value) if value is not None else None


def _apply_edits(messages: list[Message], edits: dict[str, str]) -> list[Message]:
    """Messages as staff last left them: edited text, deleted ones gone."""
    out = []
    for message in messages:
        change = json.loads(edits[message.id]) if message.id in edits else None
        if change is None:
            out.append(message)
        elif not change.get("deleted"):
            out.append(replace(message, text=str(change["text"]), edited=True))
    return out
