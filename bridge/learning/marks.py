"""Staff marks: "the bot should have handled this (as <intent>)" or "new topic", set on a
customer message in a handoff thread and listed by `make review` (docs/learning.md)."""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass
from typing import Any

from bridge import keys
from bridge.store import ConversationStore

# Reactions staff put on a customer message in a handoff thread.
SHOULD_HANDLE = "robot_face"  # 🤖 the bot should have handled this
NEW_TOPIC = "new"  # 🆕 nothing the bot knows covers this
MARK_REACTIONS = (SHOULD_HANDLE, NEW_TOPIC)

# Thread replies that set or complete a mark; never sent to the customer.
COMMAND = re.compile(r"^\s*!(intent|new)\b[ \t]*(.*)$", re.IGNORECASE | re.DOTALL)
INTENT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
USAGE = (
    "Mark a customer message for review: react with :robot_face: (the bot should have handled "
    "it) or :new: (a new topic), then reply `!intent <intent_name>` or `!new <short label>`. "
    "Without a reaction the message that caused the handoff is marked."
)
_CUSTOMER_LINE = re.compile(r"^\*Customer:\* ?(.*)$")


def is_command(text: str) -> bool:
    return COMMAND.match(text or "") is not None


def customer_text(post: str) -> str | None:
    """The customer's words in a thread post ("*Customer:* …"); in a transcript post, the last
    customer line. None when the post shows no customer message."""
    found = [m.group(1) for line in post.splitlines() if (m := _CUSTOMER_LINE.match(line))]
    if not found:
        return None
    return found[-1].replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


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

    def describe(self) -> str:
        if self.new_topic:
            return "a new topic" + (f" ({self.label})" if self.label else "")
        return f"`{self.intent}`" if self.intent else "should have been handled by the bot"


class StaffMarks:
    def __init__(self, store: ConversationStore, redis: Any) -> None:
        self._store = store
        self._redis = redis

    async def react(
        self,
        channel: str,
        thread_ts: str,
        ts: str,
        post: str,
        reaction: str,
        user: str,
        added: bool,
        user_name: str = "",
    ) -> Mark | None:
        """A mark reaction was added to (or removed from) a thread post by `user` (a Slack user
        id; `user_name` their display name); None if ignored."""
        conversation_id = await self._store.conversation_for_thread(channel, thread_ts)
        text = customer_text(post)
        if conversation_id is None or text is None or reaction not in MARK_REACTIONS:
            return None
        key = keys.marks(conversation_id)
        if not added:
            await self._redis.hdel(key, ts)
            return None
        existing = await self._get(conversation_id, ts)
        mark = existing or Mark(text=text, thread_ts=thread_ts, by=user, at_ms=_now())
        mark.by, mark.by_name, mark.at_ms = user, user_name, _now()
        if reaction == NEW_TOPIC:
            mark.new_topic, mark.intent = True, ""
        await self._put(conversation_id, ts, mark)
        return mark

    async def command(
        self, channel: str, thread_ts: str, ts: str, text: str, user: str, author: str
    ) -> None:
        """`!intent <name>` or `!new [label]` in a thread, sent by `user` (a Slack user id;
        `author` their display name): completes the thread's latest mark, or marks the message
        that caused the handoff. The answer is posted in the thread."""
        conversation_id = await self._store.conversation_for_thread(channel, thread_ts)
        found = COMMAND.match(text)
        if conversation_id is None or found is None:
            return
        if not await self._store.first_time(self._store.event_key("slack", f"mark:{ts}")):
            return
        kind, argument = found.group(1).lower(), found.group(2).strip()
        if kind == "intent" and not INTENT_NAME.match(argument):
            await self._reply(conversation_id, thread_ts, f":warning: Not marked. {USAGE}")
            return
        target = await self._latest(conversation_id, thread_ts)
        if target is None:
            conversation = await self._store.get(conversation_id)
            trigger = conversation.trigger if conversation else ""
            if not trigger:
                await self._reply(conversation_id, thread_ts, f":warning: Not marked. {USAGE}")
                return
            target = (f"trigger:{thread_ts}", Mark(trigger, thread_ts, user, _now()))
        field, mark = target
        mark.by, mark.by_name, mark.at_ms = user, author, _now()
        if kind == "intent":
            mark.intent, mark.new_topic, mark.label = argument, False, ""
        else:
            mark.intent, mark.new_topic, mark.label = "", True, argument[:60]
        await self._put(conversation_id, field, mark)
        await self._reply(
            conversation_id,
            thread_ts,
            f":memo: Marked for review: “{_quote(mark.text)}” → {mark.describe()}",
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

    async def _reply(self, conversation_id: str, thread_ts: str, text: str) -> None:
        await self._store.queue_slack(
            {
                "kind": "thread_post",
                "conversation": conversation_id,
                "as": "raw",
                "text": text,
                "thread_ts": thread_ts,
            }
        )


async def read_marks(redis: Any, conversation_id: str) -> dict[str, Mark]:
    """The conversation's marks, by Slack ts of the marked post (or "trigger:<thread ts>")."""
    raw: Any = await redis.hgetall(keys.marks(conversation_id))
    return {field: Mark(**json.loads(value)) for field, value in raw.items()}


def _quote(text: str) -> str:
    short = text if len(text) <= 120 else text[:117] + "…"
    return short.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _now() -> int:
    return int(time.time() * 1000)
