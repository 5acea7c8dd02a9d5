"""Staff marks: "the bot should have handled this (as <intent>)" or "new topic", set on a
customer message in a handoff thread and listed by `make review` (docs/learning.md).

The desk adapter (bridge/platforms/slack/marks.py) reads the reactions and commands; this module
keeps the marks and answers the commands in the thread.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from bridge import keys
from bridge.models import StaffMessageRef
from bridge.outbox.jobs import Notice, PostNotice
from bridge.outbox.outbox import Outbox
from bridge.store.dedupe import STAFF_EVENTS, event_key
from bridge.store.stores import Store


class MarkKind(StrEnum):
    """The two marks staff put on a customer message (in Slack, as 🤖 and 🆕 reactions)."""

    SHOULD_HANDLE = "should_handle"  # the bot should have handled this
    NEW_TOPIC = "new_topic"  # nothing the bot knows covers this


# Thread replies that set or complete a mark; never sent to the customer.
COMMAND = re.compile(r"^\s*!(intent|new)\b[ \t]*(.*)$", re.IGNORECASE | re.DOTALL)
INTENT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def is_command(text: str) -> bool:
    return COMMAND.match(text or "") is not None


@dataclass
class Mark:
    text: str
    thread_ts: str
    by: str  # the staff member's Slack user id
    at_ms: int
    intent: str = ""  # what the bot should have understood
    new_topic: bool = False
    label: str = ""  # a new topic's working name
    by_name: str = ""  # their display name when the mark was set ("" if Slack did not say)

    def who(self) -> str:
        """Who set the mark, as `Alice (U0ALICE)`; the user id alone if the name is unknown."""
        return f"{self.by_name} ({self.by})" if self.by_name else self.by


class StaffMarks:
    def __init__(self, store: Store, outbox: Outbox, redis: Any) -> None:
        self._store = store
        self._outbox = outbox
        self._redis = redis

    async def react(
        self,
        ref: StaffMessageRef,
        words: str | None,
        kind: MarkKind,
        user: str,
        added: bool,
        user_name: str = "",
    ) -> Mark | None:
        """A mark was put on (or taken off) thread post `ref`, showing the customer's `words`
        (None: not a customer's message), by `user` (a desk user id; `user_name` their display
        name); None if ignored."""
        conversation_id = await self._store.threads.conversation_for_thread(ref.channel, ref.thread)
        if conversation_id is None or words is None:
            return None
        key = keys.marks(conversation_id)
        if not added:
            await self._redis.hdel(key, ref.id)
            return None
        existing = await self._get(conversation_id, ref.id)
        mark = existing or Mark(text=words, thread_ts=ref.thread, by=user, at_ms=_now())
        mark.by, mark.by_name, mark.at_ms = user, user_name, _now()
        if kind is MarkKind.NEW_TOPIC:
            mark.new_topic, mark.intent = True, ""
        await self._put(conversation_id, ref.id, mark)
        return mark

    async def command(self, ref: StaffMessageRef, text: str, user: str, author: str) -> None:
        """`!intent <name>` or `!new [label]` (message `ref` in a thread), sent by `user` (a desk
        user id; `author` their display name): completes the thread's latest mark, or marks the
        message that caused the handoff. The answer is posted in the thread."""
        thread = ref.thread
        conversation_id = await self._store.threads.conversation_for_thread(ref.channel, thread)
        found = COMMAND.match(text)
        if conversation_id is None or found is None:
            return
        if not await self._store.dedupe.first_time(event_key(STAFF_EVENTS, f"mark:{ref.id}")):
            return
        kind, argument = found.group(1).lower(), found.group(2).strip()
        refused = PostNotice(conversation_id, Notice.NOT_MARKED, thread=thread)
        if kind == "intent" and not INTENT_NAME.match(argument):
            await self._outbox.enqueue(refused)
            return
        target = await self._latest(conversation_id, thread)
        if target is None:
            conversation = await self._store.conversations.get(conversation_id)
            trigger = conversation.trigger if conversation else ""
            if not trigger:
                await self._outbox.enqueue(refused)
                return
            target = (f"trigger:{thread}", Mark(trigger, thread, user, _now()))
        field, mark = target
        mark.by, mark.by_name, mark.at_ms = user, author, _now()
        if kind == "intent":
            mark.intent, mark.new_topic, mark.label = argument, False, ""
            notice = Notice.MARKED_INTENT
        else:
            mark.intent, mark.new_topic, mark.label = "", True, argument[:60]
            notice = Notice.MARKED_NEW_TOPIC
        await self._put(conversation_id, field, mark)
        detail = mark.intent or mark.label
        await self._outbox.enqueue(
            PostNotice(conversation_id, notice, words=mark.text, detail=detail, thread=thread)
        )

    async def all(self, conversation_id: str) -> dict[str, Mark]:
        return await read_marks(self._redis, conversation_id)

    async def _latest(self, conversation_id: str, thread_ts: str) -> tuple[str, Mark] | None:
        marks = [(f, m) for f, m in (await self.all(conversation_id)).items()]
        in_thread = [(f, m) for f, m in marks if m.thread_ts == thread_ts]
        return max(in_thread, key=lambda fm: fm[1].at_ms) if in_thread else None

    async def _get(self, conversation_id: str, field: str) -> Mark | None:
        raw = await self._redis.hget(keys.marks(conversation_id), field)
        return Mark(**json.loads(raw)) if raw else None

    async def _put(self, conversation_id: str, field: str, mark: Mark) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.marks(conversation_id), field, json.dumps(asdict(mark)))
            pipe.zadd(keys.REVIEW, {conversation_id: mark.at_ms})
            await pipe.execute()


async def read_marks(redis: Any, conversation_id: str) -> dict[str, Mark]:
    """The conversation's marks, by Slack ts of the marked post (or "trigger:<thread ts>")."""
    raw: Any = await redis.hgetall(keys.marks(conversation_id))
    return {field: Mark(**json.loads(value)) for field, value in raw.items()}


def _now() -> int:
    return int(time.time() * 1000)
