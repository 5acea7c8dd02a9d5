"""Messages leaving the bridge towards a customer: transcript line, delivery job, live fan-out."""

from __future__ import annotations

import json
from typing import Any, Final, Literal

from redis.asyncio import Redis

from bridge import keys, widget_events
from bridge.models import Channel, Conversation, Message
from bridge.observability import metrics, timeline
from bridge.widget_hub import WidgetHub

# The transcript line and the delivery job (Telegram) or the live widget event are written
# together, so a message is either on its way or was never sent, in one round trip (the bot's
# reply waits for it: docs/benchmarks.md, measurement 1). An optional event id makes a
# redelivered platform event a no-op. ARGV: ttl, queued, conversation id, widget channel ('':
# none) and the event around the id (widget_events.around_id), then the message's fields.
_DELIVER = (
    """
if ARGV[1] ~= '' then
  if not redis.call('SET', KEYS[3], '1', 'NX', 'EX', ARGV[1]) then return false end
end
local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 7))
if ARGV[2] == '1' then
  redis.call('XADD', KEYS[2], '*', 'conversation', ARGV[3], 'message_id', id, unpack(ARGV, 7))
end
local channel, head, tail = ARGV[4], ARGV[5], ARGV[6]
"""
    + widget_events.PUBLISH_LUA
    + """
return id
"""
)

# A staff reply from a handoff thread, in one round trip. It is the hot path of the human relay
# (docs/benchmarks.md, measurement 2), so everything it needs happens in one call, and a crash
# cannot leave part of it done: de-duplication by the Slack event id, the transcript line, the
# Telegram job (or, for the widget, the ✅ receipt job and the live frame), the relay record that
# lets an edit or deletion find the line, and the timeline's stamps (active now; first staff
# reply). A reply to the widget is delivered once it is in the transcript, so its receipt (a
# reaction) is queued here; for Telegram the sender queues it once Telegram has accepted it.
# KEYS: once key, transcript, Telegram partition, Slack partition, relay record, conversation,
# activity. ARGV: ttl, queued, conversation id, receipt channel and ts, relay ttl, now (ms; ''
# skips the timeline), the timeline's started / first-reply / handoff fields, the widget channel,
# the frame's text before and after `<id>", "ts": <ms>` (the entry id exists only here), the
# guard below, then the message's fields.
# ARGV[14], when not empty, is a guard: relay only if the conversation is a handoff a person has
# claimed, on this thread; otherwise answer 0 having written nothing (the caller then reads the
# conversation and takes the full path: refusal, claim...). That lets a reply in a known thread
# skip the lookup: one round trip in all.
# Answers false (already relayed) or {id, handoff_at}: handoff_at is the timeline's handoff time
# when this was the conversation's first staff reply, '' otherwise.
_RELAY_STAFF = (
    """
if ARGV[14] ~= '' then
  local state = redis.call('HMGET', KEYS[6], 'mode', 'thread_ts', 'claimed_by')
  if state[1] ~= 'human' or state[2] ~= ARGV[14] or not state[3] or state[3] == '' then
    return 0
  end
end
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return false end
local id = redis.call('XADD', KEYS[2], '*', unpack(ARGV, 15))
if ARGV[2] == '1' then
  redis.call('XADD', KEYS[3], '*', 'conversation', ARGV[3], 'message_id', id, unpack(ARGV, 15))
else
  redis.call('XADD', KEYS[4], '*', 'kind', 'react', 'conversation', ARGV[3], 'channel', ARGV[4],
             'ts', ARGV[5], 'name', 'white_check_mark')
  local channel, head, tail = ARGV[11], ARGV[12], ARGV[13]
"""
    + widget_events.PUBLISH_LUA
    + """
end
redis.call('HSET', KEYS[5], 'conversation', ARGV[3], 'message_id', id)
redis.call('EXPIRE', KEYS[5], ARGV[6])
local handoff_at = ''
if ARGV[7] ~= '' then
  redis.call('ZADD', KEYS[7], ARGV[7], ARGV[3])
  redis.call('HSETNX', KEYS[6], ARGV[8], ARGV[7])
  if redis.call('HSETNX', KEYS[6], ARGV[9], ARGV[7]) == 1 then
    handoff_at = redis.call('HGET', KEYS[6], ARGV[10]) or ''
  end
end
return {id, handoff_at}
"""
)


# relay_staff's answer when its guard (`only_if_claimed`) failed: nothing was written.
NOT_CLAIMED: Final = "not-claimed"


class Outbox:
    def __init__(self, redis: Redis, hub: WidgetHub | None = None) -> None:
        self._redis = redis
        self._hub = hub  # this process's widget sockets (None: publish only)
        self._deliver = redis.register_script(_DELIVER)
        self._relay_staff = redis.register_script(_RELAY_STAFF)

    async def to_customer(
        self,
        conversation: Conversation,
        message: Message,
        once_key: str = "",
    ) -> Message | None:
        """Record and send a message to the customer; None if `once_key` was already used."""
        queued = conversation.channel is Channel.TELEGRAM
        args = [str(keys.DEDUPE_TTL_S) if once_key else "", "1" if queued else "0", conversation.id]
        widget = conversation.channel is Channel.WIDGET
        args += self.widget_event(conversation.id, message) if widget else ["", "", ""]
        for name, value in message.to_fields().items():
            args += [name, value]
        entry_id = await self._deliver(
            keys=[
                keys.transcript(conversation.id),
                keys.telegram_outbox(conversation.id),
                once_key or keys.transcript(conversation.id),
            ],
            args=args,
        )
        if entry_id is None:
            return None
        stored = Message(**{**message.__dict__, "id": entry_id})
        if widget:
            metrics.message(str(Channel.WIDGET), "out")  # the socket hub is its platform
            await self.deliver_here(conversation.id, stored)
        return stored

    async def relay_staff(
        self,
        conversation: Conversation,
        message: Message,
        once_key: str,
        receipt: tuple[str, str],
        stamp_ms: int | None,
        only_if_claimed: str = "",
    ) -> tuple[Message, int | None] | Literal["not-claimed"] | None:
        """Send a staff reply from Slack message `receipt` (channel, ts) to the customer, and
        record everything that goes with it in the same step (see _RELAY_STAFF).

        `stamp_ms`: now, to keep the timeline's stamps (None: no timeline). `only_if_claimed`: a
        thread ts; relay only if the conversation is a claimed handoff on that thread, else
        answer NOT_CLAIMED (then `conversation` need only hold its id and channel). Returns the
        message as sent and, when it was the first staff reply after a handoff the timeline
        saw, that handoff's time (ms); None if `once_key` was already used.
        """
        queued = conversation.channel is Channel.TELEGRAM
        args = [str(keys.DEDUPE_TTL_S), "1" if queued else "0", conversation.id, *receipt]
        args += [str(keys.RELAY_TTL_S), "" if stamp_ms is None else str(stamp_ms)]
        args += [timeline.STARTED, timeline.FIRST_REPLY, timeline.HANDOFF]
        args += ["", "", ""] if queued else self.widget_event(conversation.id, message)
        args += [only_if_claimed]
        for name, value in message.to_fields().items():
            args += [name, value]
        answer: Any = await self._relay_staff(
            keys=[
                once_key,
                keys.transcript(conversation.id),
                keys.telegram_outbox(conversation.id),
                keys.slack_outbox(conversation.id),
                keys.relayed(*receipt),
                keys.conversation(conversation.id),
                keys.ACTIVITY,
            ],
            args=args,
        )
        if answer is None:
            return None
        if answer == 0:
            return NOT_CLAIMED
        entry_id, handoff_at = str(answer[0]), str(answer[1] or "")
        stored = Message(**{**message.__dict__, "id": entry_id})
        if not queued:
            metrics.message(str(Channel.WIDGET), "out")  # the socket hub is its platform
            await self.deliver_here(conversation.id, stored)
        return stored, int(handoff_at) if handoff_at else None

    def widget_event(self, conversation_id: str, message: Message) -> list[str]:
        """Script arguments that publish `message` to every replica's widget sockets in the
        step that writes it: the channel and the event around its id (widget_events)."""
        origin = self._hub.origin if self._hub is not None else ""
        return [keys.WIDGET_EVENTS, *widget_events.around_id(conversation_id, message, origin)]

    async def deliver_here(self, conversation_id: str, message: Message) -> None:
        """Send a message just written (and published) to this process's own sockets."""
        if self._hub is not None:
            await self._hub.deliver(conversation_id, message)

    async def revise(
        self, conversation: Conversation, message_id: str, text: str | None, job: dict[str, str]
    ) -> None:
        """A staff message was edited (`text`) or deleted (None) after it was sent.

        The transcript keeps what was sent; the edit is recorded beside it (history applies it)
        together with the Telegram job that edits or withdraws the customer's copy.
        """
        change = {"text": text} if text is not None else {"deleted": True}
        fields: dict[Any, Any] = {"conversation": conversation.id, **job}
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.transcript_edits(conversation.id), message_id, json.dumps(change))
            if conversation.channel is Channel.TELEGRAM:
                pipe.xadd(keys.telegram_outbox(conversation.id), fields)
            await pipe.execute()
        if conversation.channel is Channel.WIDGET:
            frame: dict[str, Any] = (
                {"type": "update", "id": message_id, "text": text}
                if text is not None
                else {"type": "delete", "id": message_id}
            )
            event = {"conversation": conversation.id, "frame": frame}
            await self._redis.publish(keys.WIDGET_EVENTS, json.dumps(event))
