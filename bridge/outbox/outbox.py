"""The only code that puts jobs on an outbound stream and takes them off it again.

Messages to a customer are written to the transcript together with their delivery (a queued
job for Telegram, the live feed for the widget), so a message is either on its way or was never
sent. Senders hand every delivered or failed entry back here (`ack`, `dead_letter`), with the
bookkeeping that has to be kept with it in the same transaction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final, Literal

from redis.asyncio import Redis

from bridge import keys, redis_pool
from bridge.models import Channel, Conversation, Message, StaffMessageRef
from bridge.observability import metrics, timeline
from bridge.outbox import live, receipts, retention
from bridge.outbox.delivery import Delivered, Delivery
from bridge.outbox.jobs import Fields, Job, ReviseSent, SendToCustomer, encode
from bridge.outbox.queues import ENQUEUE_LUA, fields_arg, stage, stream_for

# One round trip, as the bot's reply waits for it (docs/benchmarks.md, measurement 1): the
# transcript line, then its job (Telegram) or its live event (widget). An optional once key
# makes a redelivered platform event a no-op. The message's quick-reply buttons are recorded as
# offered: a tap is accepted only on a button the customer was shown (docs/identity.md).
# KEYS: transcript, once key (the transcript when none), offered buttons, then the staged job.
# ARGV: ttl ('' without a once key), live channel, head, tail, offered ttl, the buttons (a
# fields_arg of payload -> title; '' when none), the message's fields (queues.fields_arg), the
# staged job.
_DELIVER = (
    ENQUEUE_LUA
    + """
if ARGV[1] ~= '' then
  if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[1]) then return false end
end
if ARGV[6] ~= '' then
  redis.call('HSET', KEYS[3], unpack(cjson.decode(ARGV[6])))
  redis.call('EXPIRE', KEYS[3], ARGV[5])
end
local id = redis.call('XADD', KEYS[1], '*', unpack(cjson.decode(ARGV[7])))
enqueue(4, 8)
local channel, head, tail = ARGV[2], ARGV[3], ARGV[4]
"""
    + live.PUBLISH_LUA
    + """
return id
"""
)

# A staff reply, in one round trip: it is the hot path of the human relay (docs/benchmarks.md,
# measurement 2), and a crash cannot leave part of it done. De-duplication by the desk's event
# id, the transcript line, its job (Telegram) or its receipt and live event (widget), the relay
# record that lets an edit or deletion find the line, and the timeline's stamps (active now;
# first staff reply).
# KEYS: once key, transcript, relay record, conversation, activity, then the staged job.
# ARGV: ttl, conversation id, relay ttl, now ('' skips the timeline), the timeline's started /
# first-reply / handoff fields, live channel, head, tail, guard, the message's fields
# (queues.fields_arg), staged. The guard, when not empty, is a thread: relay only if the
# conversation is a handoff a person has claimed on that thread; otherwise answer 0 having
# written nothing (the caller then takes the full path: refusal, claim...).
# Answers false (already relayed), 0 (guard failed) or {id, handoff_at}: the timeline's handoff
# time when this was the conversation's first staff reply, '' otherwise.
_RELAY_STAFF = (
    ENQUEUE_LUA
    + """
if ARGV[11] ~= '' then
  local state = redis.call('HMGET', KEYS[4], 'mode', 'thread_ts', 'claimed_by')
  if state[1] ~= 'human' or state[2] ~= ARGV[11] or not state[3] or state[3] == '' then
    return 0
  end
end
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return false end
local id = redis.call('XADD', KEYS[2], '*', unpack(cjson.decode(ARGV[12])))
enqueue(6, 13)
local channel, head, tail = ARGV[8], ARGV[9], ARGV[10]
"""
    + live.PUBLISH_LUA
    + """
redis.call('HSET', KEYS[3], 'conversation', ARGV[2], 'message_id', id)
redis.call('EXPIRE', KEYS[3], ARGV[3])
local handoff_at = ''
if ARGV[4] ~= '' then
  redis.call('ZADD', KEYS[5], ARGV[4], ARGV[2])
  redis.call('HSETNX', KEYS[4], ARGV[5], ARGV[4])
  if redis.call('HSETNX', KEYS[4], ARGV[6], ARGV[4]) == 1 then
    handoff_at = redis.call('HGET', KEYS[4], ARGV[7]) or ''
  end
end
return {id, handoff_at}
"""
)

# Queues a job unless its once key is set (a spike alert once an hour, whatever the replicas).
_ENQUEUE_ONCE = (
    ENQUEUE_LUA
    + """
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return 0 end
enqueue(2, 2)
return 1
"""
)

# relay_staff's answer when its guard (`only_if_claimed`) failed: nothing was written.
NOT_CLAIMED: Final = "not-claimed"


class Outbox:
    def __init__(self, redis: Redis, sockets: live.LiveSockets | None = None) -> None:
        self._redis = redis
        self._sockets = sockets  # this process's widget sockets (None: publish only)
        self._deliver = redis.register_script(_DELIVER)
        self._relay_staff = redis.register_script(_RELAY_STAFF)
        self._enqueue_once = redis.register_script(_ENQUEUE_ONCE)

    async def offered(self, conversation_id: str, payload: str) -> str | None:
        """The title of the quick-reply button with `payload` the customer was shown lately,
        or None: a tap on anything else is not theirs to make."""
        title = await self._redis.hget(keys.offered(conversation_id), payload)
        return str(title) if title is not None else None

    async def enqueue(self, *jobs: Job) -> None:
        async with redis_pool.transaction(self._redis) as pipe:
            for job in jobs:
                _add(pipe, job)
            await pipe.execute()

    async def enqueue_once(self, once_key: str, ttl_ms: int, job: Job) -> bool:
        """Queue `job` unless `once_key` was set within the last `ttl_ms`; True if queued."""
        staged = stage(job)
        queued = await self._enqueue_once(keys=[once_key, *staged.keys], args=[ttl_ms, staged.arg])
        return bool(queued)

    async def to_customer(
        self, conversation: Conversation, message: Message, once_key: str = ""
    ) -> Message | None:
        """Record and send a message to the customer; None if `once_key` was already used."""
        queued = conversation.channel is Channel.TELEGRAM
        staged = (
            stage(SendToCustomer(conversation.id, conversation.channel, message))
            if queued
            else stage()
        )
        buttons = [(b.payload, b.title) for b in message.buttons]
        entry_id = await self._deliver(
            keys=[
                keys.transcript(conversation.id),
                once_key or keys.transcript(conversation.id),
                keys.offered(conversation.id),
                *staged.keys,
            ],
            args=[
                str(keys.DEDUPE_TTL_S) if once_key else "",
                *self.live_event(conversation, message),
                str(keys.OFFERED_TTL_S),
                fields_arg(dict(buttons)) if buttons else "",
                fields_arg(message.to_fields()),
                staged.arg,
            ],
        )
        if entry_id is None:
            return None
        stored = _with_id(message, entry_id)
        if not queued:
            metrics.message(str(Channel.WIDGET), "out")  # the socket hub is its platform
            await self.deliver_here(conversation.id, stored)
        return stored

    async def relay_staff(
        self,
        conversation: Conversation,
        message: Message,
        ref: StaffMessageRef,
        once_key: str,
        stamp_ms: int | None,
        only_if_claimed: str = "",
    ) -> tuple[Message, int | None] | Literal["not-claimed"] | None:
        """Send a staff reply (desk message `ref`) to the customer, and record everything that
        goes with it in the same step (see _RELAY_STAFF).

        `stamp_ms`: now, to keep the timeline's stamps (None: no timeline). `only_if_claimed`:
        a thread; relay only if the conversation is a claimed handoff on it, else answer
        NOT_CLAIMED (then `conversation` need only hold its id and channel). Returns the message
        as sent and, when it was the first staff reply after a handoff the timeline saw, that
        handoff's time (ms); None if `once_key` was already used.
        """
        queued = conversation.channel is Channel.TELEGRAM
        staged = stage(
            SendToCustomer(conversation.id, conversation.channel, message, ref)
            if queued
            else receipts.delivered(conversation.id, ref)  # in the transcript: delivered
        )
        args = [str(keys.DEDUPE_TTL_S), conversation.id, str(keys.RELAY_TTL_S)]
        args += ["" if stamp_ms is None else str(stamp_ms)]
        args += [timeline.STARTED, timeline.FIRST_REPLY, timeline.HANDOFF]
        args += live.no_event() if queued else self.live_event(conversation, message)
        args += [only_if_claimed, fields_arg(message.to_fields()), staged.arg]
        answer: Any = await self._relay_staff(
            keys=[
                once_key,
                keys.transcript(conversation.id),
                keys.relayed(conversation.id, ref.channel, ref.id),
                keys.conversation(conversation.id),
                keys.activity(conversation.id),
                *staged.keys,
            ],
            args=args,
        )
        if answer is None:
            return None
        if answer == 0:
            return NOT_CLAIMED
        entry_id, handoff_at = str(answer[0]), str(answer[1] or "")
        stored = _with_id(message, entry_id)
        if not queued:
            metrics.message(str(Channel.WIDGET), "out")
            await self.deliver_here(conversation.id, stored)
        return stored, int(handoff_at) if handoff_at else None

    async def revise(
        self,
        conversation: Conversation,
        ref: StaffMessageRef,
        message_id: str,
        text: str | None,
        author: str,
    ) -> None:
        """A staff message was edited (`text`) or deleted (None) after it was sent.

        The transcript keeps what was sent; the edit is recorded beside it (history applies it)
        together with the job that edits or withdraws the customer's copy.
        """
        change = {"text": text} if text is not None else {"deleted": True}
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.transcript_edits(conversation.id), message_id, json.dumps(change))
            if conversation.channel is Channel.TELEGRAM:
                _add(pipe, ReviseSent(conversation.id, conversation.channel, ref, text, author))
            await pipe.execute()
        if conversation.channel is Channel.WIDGET:
            event = live.revision_event(conversation.id, message_id, text)
            await self._redis.publish(keys.WIDGET_EVENTS, event)

    def live_event(self, conversation: Conversation, message: Message) -> list[str]:
        """Script arguments that publish `message` to the conversation's open widget sockets on
        every replica, in the step that writes it (live.PUBLISH_LUA)."""
        if conversation.channel is not Channel.WIDGET:
            return live.no_event()
        origin = self._sockets.origin if self._sockets is not None else ""
        return live.line_event(conversation.id, message, origin)

    async def deliver_here(self, conversation_id: str, message: Message) -> None:
        """Send a message just written (and published) to this process's own sockets."""
        if self._sockets is not None:
            await self._sockets.deliver(conversation_id, message)

    # --- the senders' side ---------------------------------------------------------------

    async def ack(
        self, delivery: Delivery, jobs: Sequence[Job], delivered: Delivered | None = None
    ) -> None:
        """The platform has `jobs` (the entries of `delivery`): acknowledge them, with the
        sender's bookkeeping and the receipts they are owed, in one transaction, and take them
        off their stream (_done: a delivered entry is not kept)."""
        steps = delivered.steps if delivered is not None else ()
        follow_ups = [receipt for job in jobs for receipt in receipts.after_delivery(job)]
        async with redis_pool.transaction(self._redis) as pipe:
            for step in steps:
                step(pipe)
            for job in follow_ups:
                _add(pipe, job)
            _done(pipe, delivery)
            await pipe.execute()

    async def dead_letter(
        self, delivery: Delivery, entries: Sequence[Fields], jobs: Sequence[Job], reason: str
    ) -> None:
        """Give up on a delivery: every entry's fields go to the dead letters (the newest
        DEAD_LETTERS_KEPT are kept), and the receipts its jobs are owed are queued, as the
        entries are acknowledged and taken off their stream."""
        async with redis_pool.transaction(self._redis) as pipe:
            for fields in entries:
                dead: dict[Any, Any] = {**fields, "stream": delivery.stream, "reason": reason}
                pipe.xadd(keys.DEAD_LETTERS, dead, maxlen=keys.DEAD_LETTERS_KEPT, approximate=True)
            for job in jobs:
                for receipt in receipts.after_dead_letter(job, reason):
                    _add(pipe, receipt)
            _done(pipe, delivery)
            await pipe.execute()

    async def upkeep(self, retention_s: int) -> None:
        """Runs for the life of the process: what was never delivered is deleted once older
        than the retention time (bridge/outbox/retention.py)."""
        await retention.upkeep(self._redis, retention_s)

    async def discard(self, stream: str, entry_ids: Sequence[str]) -> None:
        """Entries deleted from their stream while pending: nothing is left to send."""
        if entry_ids:
            await self._redis.xack(stream, keys.SENDER_GROUP, *entry_ids)


def _done(pipe: Any, delivery: Delivery) -> None:
    """Acknowledge the delivery's entries and delete them from their stream, in the caller's
    transaction. Only these ids, which the platform now has (or which went to the dead
    letters): every other entry, read or not, stays in the stream and in the group's pending
    list until its own delivery. Nothing reads a delivered entry again (a post's read-back
    asks Slack, by the entry's name), so keeping it would only keep the customer's words."""
    pipe.xack(delivery.stream, keys.SENDER_GROUP, *delivery.entries)
    pipe.xdel(delivery.stream, *delivery.entries)


def _add(pipe: Any, job: Job) -> None:
    fields: dict[Any, Any] = encode(job)
    pipe.xadd(stream_for(job), fields)


def _with_id(message: Message, entry_id: str) -> Message:
    return Message(**{**message.__dict__, "id": entry_id})
