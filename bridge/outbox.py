"""Messages leaving the bridge towards a customer: transcript line, delivery job, live fan-out."""

from __future__ import annotations

import json
from typing import Any

from redis.asyncio import Redis

from bridge import keys
from bridge.models import Channel, Conversation, Message
from bridge.observability import metrics

# The transcript line and the delivery job are written together, so a message is either on its
# way or was never sent. An optional event id makes a redelivered platform event a no-op. A staff
# message to the widget is delivered once it is in the transcript, so its Slack receipt (a
# reaction) is queued in the same step; for Telegram the sender queues it after Telegram accepts.
_DELIVER = """
if ARGV[1] ~= '' then
  if not redis.call('SET', KEYS[3], '1', 'NX', 'EX', ARGV[1]) then return false end
end
local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 6))
if ARGV[2] == '1' then
  redis.call('XADD', KEYS[2], '*', 'conversation', ARGV[3], 'message_id', id, unpack(ARGV, 6))
elseif ARGV[4] ~= '' then
  redis.call('XADD', KEYS[4], '*', 'kind', 'react', 'conversation', ARGV[3], 'channel', ARGV[4],
             'ts', ARGV[5], 'name', 'white_check_mark')
end
return id
"""


class Outbox:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._deliver = redis.register_script(_DELIVER)

    async def to_customer(
        self,
        conversation: Conversation,
        message: Message,
        once_key: str = "",
        receipt: tuple[str, str] = ("", ""),
    ) -> Message | None:
        """Record and send a message to the customer; None if `once_key` was already used.

        `receipt` is the Slack (channel, ts) of a staff message, to be marked once delivered.
        """
        queued = conversation.channel is Channel.TELEGRAM
        args = [str(keys.DEDUPE_TTL_S) if once_key else "", "1" if queued else "0", conversation.id]
        args += list(receipt)
        for name, value in message.to_fields().items():
            args += [name, value]
        entry_id = await self._deliver(
            keys=[
                keys.transcript(conversation.id),
                keys.telegram_outbox(conversation.id),
                once_key or keys.transcript(conversation.id),
                keys.slack_outbox(conversation.id),
            ],
            args=args,
        )
        if entry_id is None:
            return None
        stored = Message(**{**message.__dict__, "id": entry_id})
        if conversation.channel is Channel.WIDGET:
            metrics.message(str(Channel.WIDGET), "out")  # the socket hub is its platform
            await self.publish_to_widget(conversation.id, stored)
        return stored

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

    async def publish_to_widget(self, conversation_id: str, message: Message) -> None:
        # The transcript already holds the message; this only wakes open sockets on any replica.
        event = {"conversation": conversation_id, "message": message.to_wire()}
        await self._redis.publish(keys.WIDGET_EVENTS, json.dumps(event))
