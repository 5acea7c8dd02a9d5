"""Every outbound job: one frozen dataclass per thing the bridge asks a platform to do, and one
encoding of each to Redis stream fields and back (`encode`, `decode`).

Jobs say what should happen in the product's words (a customer line for their thread, a
receipt for a staff message); the platform packages decide how it looks there. Desk jobs go to
the staff desk's queue, customer jobs to the queue of the customer's channel
(`bridge.outbox.queues.stream_for`). Only `bridge.outbox` writes them to a stream or
acknowledges them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from bridge.models import Channel, Message, StaffMessageRef

Fields = dict[str, str]


class JobError(ValueError):
    """Stream fields that are not a job this bridge knows (a bug, or a newer writer)."""


class Notice(StrEnum):
    """What the bridge itself tells staff in a handoff thread."""

    UNCLAIMED = "unclaimed"  # detail: minutes the handoff has waited
    RATED = "rated"  # detail: the customer's answer to the satisfaction question
    # An earlier bridge's answers to staff marks (still shown if queued); now a MarkReply.
    MARKED_INTENT = "marked_intent"  # words: the marked message; detail: the intent
    MARKED_NEW_TOPIC = "marked_new_topic"  # words: the marked message; detail: a label or ""
    NOT_MARKED = "not_marked"  # a mark command that named nothing to mark


class MarkAnswer(StrEnum):
    """What a staff mark came to (docs/learning.md), as MarkReply tells staff."""

    MARKED = "marked"  # line `number` (`words`) is marked: `kind`, with `intent` or `label`
    UNMARKED = "unmarked"  # its reaction was taken off, and so was the mark of that line
    PICK = "pick"  # the post reacted to shows several customer lines: `choices`, as buttons
    NOT_MARKED = "not_marked"  # nothing was marked: `why`; `choices` are lines to name instead


class MarkRefusal(StrEnum):
    """Why a mark marked nothing."""

    NO_TARGET = "no_target"  # a command with no line named and no reaction of theirs pending
    BAD_NAME = "bad_name"  # `!intent` without a valid intent name
    NO_SUCH_LINE = "no_such_line"  # `#<number>` is no customer line of the thread
    NO_MATCH = "no_match"  # no customer line contains the quoted `words`
    AMBIGUOUS = "ambiguous"  # several do (`choices`)
    NOT_CUSTOMER = "not_customer"  # the post reacted to shows no customer message
    GONE = "gone"  # the picked line is no longer in the thread


class ReceiptOutcome(StrEnum):
    """What became of a staff member's message."""

    DELIVERED = "delivered"  # the customer's platform accepted it
    KEPT_INTERNAL = "kept_internal"  # a note: it stays on the desk
    NOT_DELIVERED = "not_delivered"  # refused or failed for good; `reason` says why


# --- for the staff desk ----------------------------------------------------------------------


@dataclass(frozen=True)
class OpenThread:
    """Open the conversation's handoff thread with its card. A guest's (`guest`: not signed in)
    gives way to other posts in the staff channel (docs/abuse.md)."""

    conversation: str
    guest: bool = False
    KIND: ClassVar[str] = "open_thread"

    def to_fields(self) -> Fields:
        return {"conversation": self.conversation, "guest": "1" if self.guest else ""}

    @classmethod
    def from_fields(cls, f: Fields) -> OpenThread:
        return cls(f["conversation"], f.get("guest") == "1")


@dataclass(frozen=True)
class PostTranscript:
    """Post the conversation so far under the card: every line up to transcript entry `upto`
    ("" when there is none), read when it is sent."""

    conversation: str
    upto: str
    guest: bool = False  # as OpenThread's
    KIND: ClassVar[str] = "transcript"

    def to_fields(self) -> Fields:
        return {
            "conversation": self.conversation,
            "upto": self.upto,
            "guest": "1" if self.guest else "",
        }

    @classmethod
    def from_fields(cls, f: Fields) -> PostTranscript:
        return cls(f["conversation"], f.get("upto", ""), f.get("guest") == "1")


@dataclass(frozen=True)
class PostCustomerLine:
    """A customer's message (and its file, if any) for their current thread."""

    conversation: str
    text: str
    file: str = ""
    KIND: ClassVar[str] = "customer_line"

    def to_fields(self) -> Fields:
        return {"conversation": self.conversation, "text": self.text, "file": self.file}

    @classmethod
    def from_fields(cls, f: Fields) -> PostCustomerLine:
        return cls(f["conversation"], f.get("text", ""), f.get("file", ""))


@dataclass(frozen=True)
class PostNotice:
    """Something the bridge tells staff in a thread (`thread`; "" is the current one)."""

    conversation: str
    notice: Notice
    words: str = ""
    detail: str = ""
    thread: str = ""
    KIND: ClassVar[str] = "notice"

    def to_fields(self) -> Fields:
        return {
            "conversation": self.conversation,
            "notice": str(self.notice),
            "words": self.words,
            "detail": self.detail,
            "thread": self.thread,
        }

    @classmethod
    def from_fields(cls, f: Fields) -> PostNotice:
        return cls(
            f["conversation"],
            Notice(f["notice"]),
            f.get("words", ""),
            f.get("detail", ""),
            f.get("thread", ""),
        )


@dataclass(frozen=True)
class MarkChoice:
    """A customer line a mark's answer offers or lists."""

    number: int  # its number among the thread's customer lines (`!intent <name> #<number>`)
    line: str  # where it is on the desk (learning.marks.Line.field)
    words: str  # the customer's words (shortened)


@dataclass(frozen=True)
class MarkReply:
    """The bridge's answer to a staff mark in thread `thread` (docs/learning.md): a new post,
    or with `replace` (a line picker's id) that picker rewritten to say what was marked."""

    conversation: str
    thread: str
    answer: MarkAnswer
    by: str = ""  # who marked: their display name, else their desk user id
    kind: str = ""  # learning.marks.MarkKind: should_handle | new_topic
    number: int = 0  # the line's number in the thread; 0 if not known
    words: str = ""  # the line's words (NO_MATCH: the words asked for)
    intent: str = ""
    label: str = ""  # a new topic's working name
    why: MarkRefusal | None = None  # NOT_MARKED
    command: str = ""  # NOT_MARKED: the command as sent, without its target, for the hints
    on: str = ""  # PICK: the post the reaction is on
    choices: tuple[MarkChoice, ...] = ()
    replace: str = ""
    KIND: ClassVar[str] = "mark_reply"

    def to_fields(self) -> Fields:
        choices = [[c.number, c.line, c.words] for c in self.choices]
        return {
            "conversation": self.conversation,
            "thread": self.thread,
            "answer": str(self.answer),
            "by": self.by,
            "mark": self.kind,  # not "kind": that names the job's type
            "number": str(self.number),
            "words": self.words,
            "intent": self.intent,
            "label": self.label,
            "why": str(self.why or ""),
            "command": self.command,
            "on": self.on,
            "choices": json.dumps(choices, ensure_ascii=False),
            "replace": self.replace,
        }

    @classmethod
    def from_fields(cls, f: Fields) -> MarkReply:
        choices = tuple(MarkChoice(int(n), str(ln), str(w)) for n, ln, w in _json(f, "choices"))
        return cls(
            f["conversation"],
            f["thread"],
            MarkAnswer(f["answer"]),
            by=f.get("by", ""),
            kind=f.get("mark", ""),
            number=int(f.get("number") or 0),
            words=f.get("words", ""),
            intent=f.get("intent", ""),
            label=f.get("label", ""),
            why=MarkRefusal(f["why"]) if f.get("why") else None,
            command=f.get("command", ""),
            on=f.get("on", ""),
            choices=choices,
            replace=f.get("replace", ""),
        )


@dataclass(frozen=True)
class Receipt:
    """Show staff what became of their message (made by `bridge.outbox.receipts`)."""

    conversation: str
    staff_message: StaffMessageRef
    outcome: ReceiptOutcome
    reason: str = ""
    KIND: ClassVar[str] = "receipt"

    def to_fields(self) -> Fields:
        return {
            "conversation": self.conversation,
            "outcome": str(self.outcome),
            "reason": self.reason,
            **_ref_fields(self.staff_message),
        }

    @classmethod
    def from_fields(cls, f: Fields) -> Receipt:
        ref = _ref(f)
        if ref is None:
            raise JobError("a receipt names no staff message")
        return cls(f["conversation"], ref, ReceiptOutcome(f["outcome"]), f.get("reason", ""))


@dataclass(frozen=True)
class UpdateCard:
    """Redraw the card of `thread` from the conversation's current state."""

    conversation: str
    thread: str
    KIND: ClassVar[str] = "update_card"

    def to_fields(self) -> Fields:
        return {"conversation": self.conversation, "thread": self.thread}

    @classmethod
    def from_fields(cls, f: Fields) -> UpdateCard:
        return cls(f["conversation"], f.get("thread", ""))


@dataclass(frozen=True)
class SpikeExample:
    conversation: str
    text: str
    outcome: str  # abstain | handoff


@dataclass(frozen=True)
class TopicSpikeAlert:
    """Alert a channel: one topic had far more handoffs or abstentions than usual."""

    channel: str
    topic: str
    last_hour: int
    usual_per_hour: float
    examples: tuple[SpikeExample, ...] = ()
    conversation: str = ""  # belongs to no conversation
    KIND: ClassVar[str] = "topic_spike"

    def to_fields(self) -> Fields:
        examples = [[e.conversation, e.text, e.outcome] for e in self.examples]
        return {
            "channel": self.channel,
            "topic": self.topic,
            "last_hour": str(self.last_hour),
            "usual_per_hour": repr(self.usual_per_hour),
            "examples": json.dumps(examples, ensure_ascii=False),
        }

    @classmethod
    def from_fields(cls, f: Fields) -> TopicSpikeAlert:
        examples = tuple(SpikeExample(str(c), str(t), str(o)) for c, t, o in _json(f, "examples"))
        return cls(
            f["channel"], f["topic"], int(f["last_hour"]), float(f["usual_per_hour"]), examples
        )


# --- for customers ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SendToCustomer:
    """Send a transcript line to the customer on `via` (a queued channel). A staff reply names
    its `staff_message`, so the receipt can find it."""

    conversation: str
    via: Channel
    message: Message
    staff_message: StaffMessageRef | None = None
    KIND: ClassVar[str] = "send"

    def to_fields(self) -> Fields:
        fields = {"conversation": self.conversation, "via": str(self.via)}
        fields |= self.message.to_fields()
        if self.staff_message is not None:
            fields |= _ref_fields(self.staff_message)
        return fields

    @classmethod
    def from_fields(cls, f: Fields) -> SendToCustomer:
        return cls(f["conversation"], Channel(f["via"]), Message.from_fields("", f), _ref(f))


@dataclass(frozen=True)
class ReviseSent:
    """A staff message the customer already has was edited (`text`) or deleted (None)."""

    conversation: str
    via: Channel
    staff_message: StaffMessageRef
    text: str | None
    author: str
    KIND: ClassVar[str] = "revise"

    def to_fields(self) -> Fields:
        return {
            "conversation": self.conversation,
            "via": str(self.via),
            "text": self.text or "",
            "withdrawn": "1" if self.text is None else "",
            "author": self.author,
            **_ref_fields(self.staff_message),
        }

    @classmethod
    def from_fields(cls, f: Fields) -> ReviseSent:
        ref = _ref(f)
        if ref is None:
            raise JobError("a revision names no staff message")
        text = None if f.get("withdrawn") == "1" else f.get("text", "")
        return cls(f["conversation"], Channel(f["via"]), ref, text, f.get("author", ""))


DeskJob = (
    (OpenThread | PostTranscript | PostCustomerLine | PostNotice | Receipt | UpdateCard)
    | TopicSpikeAlert
    | MarkReply
)
CustomerJob = SendToCustomer | ReviseSent
Job = DeskJob | CustomerJob

_KINDS: dict[str, type[Job]] = {
    kind.KIND: kind
    for kind in (
        OpenThread,
        PostTranscript,
        PostCustomerLine,
        PostNotice,
        Receipt,
        UpdateCard,
        TopicSpikeAlert,
        MarkReply,
        SendToCustomer,
        ReviseSent,
    )
}


def encode(job: Job) -> Fields:
    """The stream fields of `job`; `decode` reads them back."""
    return {"kind": job.KIND, **job.to_fields()}


def decode(fields: Fields) -> Job:
    kind = _KINDS.get(fields.get("kind", ""))
    if kind is None:
        raise JobError(f"unknown job kind {fields.get('kind')!r}")
    try:
        return kind.from_fields(fields)
    except (KeyError, ValueError, TypeError) as exc:
        raise JobError(f"malformed {kind.KIND} job: {exc!r}") from exc


def _ref_fields(ref: StaffMessageRef) -> Fields:
    return {"staff_channel": ref.channel, "staff_message": ref.id, "staff_thread": ref.thread}


def _ref(f: Fields) -> StaffMessageRef | None:
    if not f.get("staff_message"):
        return None
    return StaffMessageRef(
        f.get("staff_channel", ""), f["staff_message"], f.get("staff_thread", "")
    )


def _json(f: Fields, name: str) -> list[list[str]]:
    value = json.loads(f.get(name) or "[]")
    if not isinstance(value, list):
        raise JobError(f"{name} must be a list")
    return value
