"""A conversation's transcript: every message in order (the widget's history), the customer's
lines recorded once each, and staff edits kept beside what was sent."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from redis.asyncio import Redis

from bridge import keys, rate_limits
from bridge.models import Message, Mode
from bridge.observability import timeline
from bridge.outbox import live
from bridge.outbox.jobs import Job
from bridge.outbox.queues import ENQUEUE_LUA, fields_arg, stage

# Records a customer line once: a retried delivery of the same event id returns the entry it
# created the first time instead of a second line. A new line is first checked against the
# customer's quota, when one is given (rate_limits.QUOTA_LUA; answers -1 having written nothing
# when it is over). While a person has the conversation, the same step queues the staged job
# that takes the line to the staff thread, so it cannot be recorded and then lost before it
# reaches them. It also stamps the timeline (active now; started) and publishes the line on the
# live feed (the customer's other tabs). All in one round trip: the bot's answer waits for this
# step (docs/benchmarks.md, measurement 1).
# KEYS: seen, transcript, conversation, activity, quota (any key when none), then the staged job.
# ARGV: ttl, conversation id, now (ms; '' skips the timeline), the timeline's started field, live
# channel ('': none), head, tail, messages per minute ('': no quota), the message's fields
# (queues.fields_arg), the staged job, then the retention (s; '0': none) a new transcript gets.
# Answers {1 new | 0 seen | -1 over quota | -2 no such conversation (expired or erased), id, mode}.
_RECORD_ONCE = (
    ENQUEUE_LUA
    + """
local mode = redis.call('HGET', KEYS[3], 'mode')
local existing = redis.call('GET', KEYS[1])
if existing then return {0, existing, mode} end
if redis.call('HEXISTS', KEYS[3], 'channel') == 0 then return {-2, '', ''} end
local quota_key, per_minute = '', ARGV[8]
if per_minute ~= '' then quota_key = KEYS[5] end
"""
    + rate_limits.QUOTA_LUA
    + """
if over_quota then return {-1, '', mode} end
local id = redis.call('XADD', KEYS[2], '*', unpack(cjson.decode(ARGV[9])))
redis.call('SET', KEYS[1], id, 'EX', ARGV[1])
if ARGV[11] ~= '0' and redis.call('TTL', KEYS[2]) == -1 then
  redis.call('EXPIRE', KEYS[2], ARGV[11])
end
if mode == 'human' then enqueue(6, 10) end
if ARGV[3] ~= '' then
  redis.call('ZADD', KEYS[4], ARGV[3], ARGV[2])
  redis.call('HSETNX', KEYS[3], ARGV[4], ARGV[3])
end
local channel, head, tail = ARGV[5], ARGV[6], ARGV[7]
"""
    + live.PUBLISH_LUA
    + """
return {1, id, mode}
"""
)

HISTORY_LIMIT = 200


@dataclass(frozen=True)
class Inbound:
    """A customer line as recorded: with its transcript id, whether this delivery was its first,
    and the conversation's mode when it was recorded."""

    message: Message
    is_new: bool
    mode: Mode
    over_quota: bool = False  # refused: the customer's quota was spent (nothing recorded)
    ended: bool = False  # refused: the conversation is no longer stored (nothing recorded)
    payload: str = ""  # the quick reply it taps, when that button was offered (for the bot)


class Transcripts:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._record_once = redis.register_script(_RECORD_ONCE)

    async def record_inbound(
        self,
        conversation_id: str,
        message: Message,
        seen_key: str,
        to_thread: Job,
        active_at_ms: int | None = None,
        live_event: list[str] | None = None,
        quota: tuple[str, int] | None = None,
        retention_s: int = 0,
    ) -> Inbound:
        """Append a customer line unless `seen_key` (its event's once key) was already used.

        `to_thread`: the job that takes it to the staff thread, queued if a person has the
        conversation. `active_at_ms`: stamp the timeline. `live_event`: publish it on the live
        feed (Outbox.live_event). `quota`: (key, per minute) of the customer's quota; a new line
        over it is refused (`over_quota`). `retention_s`: the expiry of a transcript this
        line starts. A conversation that is not stored (it expired, or was erased) records
        nothing: `ended`.
        """
        staged = stage(to_thread)
        quota_key, per_minute = quota or (seen_key, "")
        args = [str(keys.DEDUPE_TTL_S), conversation_id]
        args += ["" if active_at_ms is None else str(active_at_ms), timeline.STARTED]
        args += live_event or live.no_event()
        args += [str(per_minute), fields_arg(message.to_fields()), staged.arg, str(retention_s)]
        is_new, entry_id, mode = await self._record_once(
            keys=[
                seen_key,
                keys.transcript(conversation_id),
                keys.conversation(conversation_id),
                keys.activity(conversation_id),
                quota_key,
                *staged.keys,
            ],
            args=args,
        )
        if is_new == -1:
            return Inbound(message, False, Mode(mode or Mode.BOT), over_quota=True)
        if is_new == -2:
            return Inbound(message, False, Mode.BOT, ended=True)
        stored = replace(message, id=entry_id)
        return Inbound(stored, bool(is_new), Mode(mode or Mode.BOT))

    async def history(self, conversation_id: str, since: str | None = None) -> list[Message]:
        """The last HISTORY_LIMIT messages (or those after `since`), as staff left them."""
        key = keys.transcript(conversation_id)
        entries: Any
        if since:
            entries = await self._redis.xrange(key, min="(" + since, count=HISTORY_LIMIT)
        else:
            newest_first: Any = await self._redis.xrevrange(key, count=HISTORY_LIMIT)
            entries = list(reversed(newest_first))
        return await self._as_left(conversation_id, entries)

    async def history_upto(self, conversation_id: str, upto: str) -> list[Message]:
        """The last HISTORY_LIMIT messages up to and including entry `upto`."""
        if not upto:
            return []
        key = keys.transcript(conversation_id)
        newest_first: Any = await self._redis.xrevrange(key, max=upto, count=HISTORY_LIMIT)
        return await self._as_left(conversation_id, list(reversed(newest_first)))

    async def last_id(self, conversation_id: str) -> str:
        """The id of the transcript's newest entry ("" when it is empty)."""
        newest: Any = await self._redis.xrevrange(keys.transcript(conversation_id), count=1)
        return str(newest[0][0]) if newest else ""

    async def _as_left(self, conversation_id: str, entries: Any) -> list[Message]:
        messages = [Message.from_fields(entry_id, fields) for entry_id, fields in entries]
        edits: Any = await self._redis.hgetall(keys.transcript_edits(conversation_id))
        return _apply_edits(messages, edits) if edits else messages


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
