"""Staff marks: "the bot should have handled this (as <intent>)" or "new topic", set on a
customer message in a handoff thread and listed by `make review` (docs/learning.md).

A mark is always on the line staff meant: a reaction marks the customer line of the post it is
on, and a post that shows several (the transcript, the card) gets a picker instead; a command
names its line (`#<number>`, quoted words) or completes the same person's recent reaction. Never
"the last customer line" or "the message that caused the handoff". Every mark, unmark and
refusal is answered in the thread (a MarkReply, queued once per Slack event or click).

The desk adapter (bridge/platforms/slack/marks.py) reads the reactions, clicks and commands and
the thread's customer lines (`Line`); this module keeps the marks and queues the answers.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import Any

from bridge import keys, redis_pool
from bridge.models import StaffMessageRef
from bridge.outbox.jobs import MarkAnswer, MarkChoice, MarkRefusal, MarkReply
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
# A command's target: `#<number>` (a line of the thread), or words in quotes from the line.
_NUMBER = re.compile(r"(?:^|\s)#(\d{1,5})(?=\s|$)")
_QUOTED = re.compile(r"[\"“”„«»]([^\"“”„«»]+)[\"“”„«»]")
# `!intent <name>` with no target completes the sender's own unnamed mark this recent.
PENDING_MINUTES = 10
PENDING_MS = PENDING_MINUTES * 60_000
# A picker offers at most this many lines (Slack: 25 buttons a block); the latest ones.
PICKER_LINES = 20
# Lines listed in a refusal (the latest), and how much of each line an answer carries.
LISTED_LINES = 10
WORDS_CARRIED = 200
LABEL_KEPT = 60


def is_command(text: str) -> bool:
    return COMMAND.match(text or "") is not None


@dataclass(frozen=True)
class Line:
    """A customer message as the desk shows it in a handoff thread."""

    number: int  # its place among the thread's customer lines, from 1 (`#<number>`)
    post: str  # the desk post showing it
    place: int  # 0: the post shows it alone; else its place among the post's customer lines
    words: str

    @property
    def field(self) -> str:
        """Where its mark is kept (keys.marks): the post's id, `<post>#<place>` in a post of
        several."""
        return f"{self.post}#{self.place}" if self.place else self.post


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
    on: str = ""  # the post reacted to (or the command's id); "" for an earlier bridge's marks
    reaction: str = ""  # the MarkKind of the reaction that holds it; "" when set by a command

    def who(self) -> str:
        """Who set the mark, as `Alice (U0ALICE)`; the user id alone if the name is unknown."""
        return f"{self.by_name} ({self.by})" if self.by_name else self.by

    @property
    def named(self) -> bool:
        return bool(self.intent or self.label)


class StaffMarks:
    def __init__(self, store: Store, outbox: Outbox, redis: Any) -> None:
        self._store = store
        self._outbox = outbox
        self._redis = redis

    async def react(
        self,
        ref: StaffMessageRef,
        shown: list[Line],
        kind: MarkKind,
        user: str,
        added: bool,
        user_name: str = "",
        event_id: str = "",
    ) -> Mark | None:
        """A reaction put on (or taken off) thread post `ref`, which shows the customer lines
        `shown`, by `user` (a desk user id; `user_name` their display name); `event_id` names
        the desk's event, so a redelivery is answered once. Returns the mark set, if any."""
        conversation_id = await self._store.threads.conversation_for_thread(ref.channel, ref.thread)
        if conversation_id is None:
            return None
        once = f"mark-reaction:{event_id or ref.id + ':' + kind + ':' + user}"
        who = user_name or user
        if not added:
            for field, mark in await self._unmark(conversation_id, ref.id, kind):
                number = _number_of(shown, field)
                reply = MarkReply(
                    conversation_id,
                    ref.thread,
                    MarkAnswer.UNMARKED,
                    by=who,
                    kind=kind,
                    number=number,
                    words=_carried(mark.text),
                )
                await self._answer(f"{once}:{field}", reply)
            return None
        if len(shown) != 1:
            if shown:
                choices = [_choice(line) for line in shown[-PICKER_LINES:]]
                answer = MarkReply(
                    conversation_id,
                    ref.thread,
                    MarkAnswer.PICK,
                    by=who,
                    kind=kind,
                    on=ref.id,
                    choices=tuple(choices),
                )
            else:
                answer = MarkReply(
                    conversation_id,
                    ref.thread,
                    MarkAnswer.NOT_MARKED,
                    by=who,
                    kind=kind,
                    why=MarkRefusal.NOT_CUSTOMER,
                )
            await self._answer(once, answer)
            return None
        line = shown[0]
        mark = await self._mark(conversation_id, line, ref.thread, kind, user, user_name, ref.id)
        await self._answer(once, _marked(conversation_id, ref.thread, line.number, mark, who))
        return mark

    async def pick(
        self,
        picker: StaffMessageRef,
        line: Line | None,
        kind: MarkKind,
        on: str,
        user: str,
        user_name: str = "",
        click_id: str = "",
    ) -> Mark | None:
        """`user` chose `line` in the picker `picker` offered for their reaction on post `on`
        (None: the line is gone). The picker is rewritten to say what was marked."""
        thread = picker.thread
        conversation_id = await self._store.threads.conversation_for_thread(picker.channel, thread)
        if conversation_id is None:
            return None
        once = f"mark-pick:{picker.id}:{click_id or user}"
        who = user_name or user
        if line is None:
            gone = MarkReply(
                conversation_id,
                thread,
                MarkAnswer.NOT_MARKED,
                by=who,
                kind=kind,
                why=MarkRefusal.GONE,
            )
            await self._answer(once, gone)
            return None
        mark = await self._mark(conversation_id, line, thread, kind, user, user_name, on)
        answer = _marked(conversation_id, thread, line.number, mark, who)
        await self._answer(once, replace(answer, replace=picker.id))
        return mark

    async def command(
        self, ref: StaffMessageRef, text: str, user: str, author: str, lines: list[Line]
    ) -> None:
        """`!intent <name> [target]` or `!new [label] [target]` (message `ref` in a thread),
        sent by `user` (a desk user id; `author` their display name); `lines` are the thread's
        customer lines. The target is `#<number>` or "words" from the line; without one, the
        command completes the sender's own unnamed mark of the last PENDING_MS in this thread.
        Nothing else is guessed. The answer is posted in the thread."""
        thread = ref.thread
        conversation_id = await self._store.threads.conversation_for_thread(ref.channel, thread)
        found = COMMAND.match(text)
        if conversation_id is None or found is None:
            return
        once = f"mark:{ref.id}"
        if await self._redis.exists(event_key(STAFF_EVENTS, once, conversation_id)):
            return  # a redelivery of a command already answered
        verb, argument = found.group(1).lower(), found.group(2).strip()
        name, number, words = _target(argument)
        kind = MarkKind.SHOULD_HANDLE if verb == "intent" else MarkKind.NEW_TOPIC
        who = author or user
        as_sent = f"!{verb} {name}".strip() if name else f"!{verb}"

        def refuse(
            why: MarkRefusal, listed: list[Line], number: int = 0, words: str = ""
        ) -> MarkReply:
            return MarkReply(
                conversation_id or "",
                thread,
                MarkAnswer.NOT_MARKED,
                by=who,
                kind=kind,
                number=number,
                words=_carried(words),
                why=why,
                command=as_sent,
                choices=tuple(_choice(line) for line in listed[-LISTED_LINES:]),
            )

        if verb == "intent" and not INTENT_NAME.match(name):
            await self._answer(once, refuse(MarkRefusal.BAD_NAME, []))
            return
        line: Line | None = None
        field = ""
        if number is not None:
            line = next((candidate for candidate in lines if candidate.number == number), None)
            if line is None:
                await self._answer(once, refuse(MarkRefusal.NO_SUCH_LINE, lines, number))
                return
        elif words is not None:
            wanted = f" {_plain(words)} "
            matches = [candidate for candidate in lines if wanted in f" {_plain(candidate.words)} "]
            if len(matches) != 1:
                why = MarkRefusal.AMBIGUOUS if matches else MarkRefusal.NO_MATCH
                await self._answer(once, refuse(why, matches or lines, words=words))
                return
            line = matches[0]
        else:
            pending = await self._pending(conversation_id, thread, user)
            if pending is None:
                await self._answer(once, refuse(MarkRefusal.NO_TARGET, lines))
                return
            field = pending[0]
            line = next((candidate for candidate in lines if candidate.field == field), None)
        field = line.field if line is not None else field
        now = _now()
        mark = await self._get(conversation_id, field)
        if mark is None:
            assert line is not None  # a pending mark is stored
            mark = Mark(text=line.words, thread_ts=thread, by=user, at_ms=now, on=ref.id)
        mark.by, mark.by_name, mark.at_ms = user, author, now
        if verb == "intent":
            mark.intent, mark.new_topic, mark.label = name, False, ""
        else:
            mark.intent, mark.new_topic, mark.label = "", True, name[:LABEL_KEPT]
        await self._put(conversation_id, field, mark)
        number_shown = line.number if line is not None else 0
        await self._answer(once, _marked(conversation_id, thread, number_shown, mark, who))

    async def all(self, conversation_id: str) -> dict[str, Mark]:
        return await read_marks(self._redis, conversation_id)

    async def _mark(
        self,
        conversation_id: str,
        line: Line,
        thread: str,
        kind: MarkKind,
        user: str,
        user_name: str,
        on: str,
    ) -> Mark:
        """Mark `line` as `kind`, held by a reaction on post `on`."""
        now = _now()
        mark = await self._get(conversation_id, line.field)
        if mark is None:
            mark = Mark(text=line.words, thread_ts=thread, by=user, at_ms=now)
        mark.by, mark.by_name, mark.at_ms = user, user_name, now
        mark.on, mark.reaction = on, str(kind)
        if kind is MarkKind.NEW_TOPIC:
            mark.new_topic, mark.intent = True, ""
        elif mark.new_topic:  # 🤖 after 🆕: the later one is meant
            mark.new_topic, mark.label = False, ""
        await self._put(conversation_id, line.field, mark)
        return mark

    async def _unmark(
        self, conversation_id: str, post: str, kind: MarkKind
    ) -> list[tuple[str, Mark]]:
        """Remove the marks the `kind` reaction on `post` holds (an earlier bridge's: the mark
        of that post)."""
        held = [
            (field, mark)
            for field, mark in (await self.all(conversation_id)).items()
            if (mark.on == post and mark.reaction == kind) or (not mark.on and field == post)
        ]
        if held:
            await self._redis.hdel(keys.marks(conversation_id), *[field for field, _ in held])
        return held

    async def _pending(
        self, conversation_id: str, thread: str, user: str
    ) -> tuple[str, Mark] | None:
        """`user`'s latest mark in `thread` not yet named, if set within PENDING_MS."""
        since = _now() - PENDING_MS
        pending = [
            (field, mark)
            for field, mark in (await self.all(conversation_id)).items()
            if mark.thread_ts == thread
            and mark.by == user
            and mark.reaction
            and not mark.named
            and mark.at_ms >= since
        ]
        return max(pending, key=lambda fm: fm[1].at_ms) if pending else None

    async def _answer(self, once: str, reply: MarkReply) -> None:
        """Queue `reply` once for the event, click or command `once` names."""
        key = event_key(STAFF_EVENTS, once, reply.conversation)
        await self._outbox.enqueue_once(key, keys.DEDUPE_TTL_S * 1000, reply)

    async def _get(self, conversation_id: str, field: str) -> Mark | None:
        raw = await self._redis.hget(keys.marks(conversation_id), field)
        return Mark(**json.loads(raw)) if raw else None

    async def _put(self, conversation_id: str, field: str, mark: Mark) -> None:
        async with redis_pool.transaction(self._redis) as pipe:
            pipe.hset(keys.marks(conversation_id), field, json.dumps(asdict(mark)))
            pipe.zadd(keys.REVIEW, {conversation_id: mark.at_ms})
            await pipe.execute()


async def read_marks(redis: Any, conversation_id: str) -> dict[str, Mark]:
    """The conversation's marks, by where the marked line is (`Line.field`; an earlier
    bridge's: the post's Slack ts or "trigger:<thread ts>")."""
    raw: Any = await redis.hgetall(keys.marks(conversation_id))
    return {field: Mark(**json.loads(value)) for field, value in raw.items()}


def _target(argument: str) -> tuple[str, int | None, str | None]:
    """A command's argument as (name or label, `#<number>`, quoted words)."""
    number: int | None = None
    words: str | None = None
    if found := _NUMBER.search(argument):
        number = int(found.group(1))
        argument = argument[: found.start()] + " " + argument[found.end() :]
    elif found := _QUOTED.search(argument):
        words = found.group(1).strip() or None
        argument = argument[: found.start()] + " " + argument[found.end() :]
    return " ".join(argument.split()), number, words


def _plain(text: str) -> str:
    """Text as quoted words are looked for in it (whole words): case, punctuation and spacing
    aside."""
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def _marked(conversation_id: str, thread: str, number: int, mark: Mark, who: str) -> MarkReply:
    return MarkReply(
        conversation_id,
        thread,
        MarkAnswer.MARKED,
        by=who,
        kind=MarkKind.NEW_TOPIC if mark.new_topic else MarkKind.SHOULD_HANDLE,
        number=number,
        words=_carried(mark.text),
        intent=mark.intent,
        label=mark.label,
    )


def _choice(line: Line) -> MarkChoice:
    return MarkChoice(line.number, line.field, _carried(line.words))


def _number_of(lines: list[Line], field: str) -> int:
    return next((line.number for line in lines if line.field == field), 0)


def _carried(words: str) -> str:
    return words if len(words) <= WORDS_CARRIED else words[: WORDS_CARRIED - 1] + "…"


def _now() -> int:
    return int(time.time() * 1000)
