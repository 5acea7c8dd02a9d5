"""The bridge's domain objects, independent of any platform."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum


class Mode(StrEnum):
    BOT = "bot"
    HUMAN = "human"
    # A person closed the conversation; the next customer message goes to the assistant again.
    CLOSED = "closed"


class Channel(StrEnum):
    WIDGET = "widget"
    TELEGRAM = "telegram"


# Every widget conversation id starts with this (router/sign_in.py makes them).
WIDGET_PREFIX = "w-"


class Role(StrEnum):
    CUSTOMER = "customer"
    BOT = "bot"
    STAFF = "staff"
    SYSTEM = "system"


class HandoffReason(StrEnum):
    EXPLICIT_REQUEST = "explicit_request"
    COMPLAINT = "complaint"
    REPEATED_MISS = "repeated_miss"
    LOW_CONFIDENCE = "low_confidence"
    OUT_OF_SCOPE = "out_of_scope"
    BACKEND_FAILED = "backend_failed"
    BOT_UNAVAILABLE = "bot_unavailable"
    LANGUAGE = "language"  # written in a language the assistant does not answer
    NOT_RESOLVED = "not_resolved"  # the bot's answer did not resolve it

    @classmethod
    def parse(cls, value: object) -> HandoffReason:
        try:
            return cls(str(value))
        except ValueError:
            return cls.EXPLICIT_REQUEST


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


class Verification(StrEnum):
    """How the bridge knows who a customer is."""

    WEB_LOGIN = "web_login"  # the shop's page signed their identity (widget)
    LINKED_CHAT = "linked_chat"  # they linked this chat from the shop's account page

    @classmethod
    def parse(cls, value: str) -> Verification:
        try:
            return cls(value)
        except ValueError:
            return cls.WEB_LOGIN


@dataclass(frozen=True)
class Customer:
    """A customer the shop vouched for: its own customer id, their email and name."""

    id: str
    email: str
    name: str
    via: Verification

    def to_fields(self) -> dict[str, str]:
        """As fields of the conversation hash."""
        return {
            "customer_id": self.id,
            "customer_email": self.email,
            "customer_name": self.name,
            "customer_via": str(self.via),
        }

    @classmethod
    def from_fields(cls, data: dict[str, str]) -> Customer | None:
        if not data.get("customer_id"):
            return None
        return cls(
            data["customer_id"],
            data.get("customer_email", ""),
            data.get("customer_name", ""),
            Verification.parse(data.get("customer_via", "")),
        )


CUSTOMER_FIELDS = ("customer_id", "customer_email", "customer_name", "customer_via")


@dataclass(frozen=True)
class Conversation:
    id: str
    channel: Channel
    external_id: str
    display_name: str
    mode: Mode = Mode.BOT
    thread_ts: str = ""
    handoff_reason: str = ""
    # The staff desk's view of the current handoff (see docs/staff-desk.md).
    trigger: str = ""
    intents: tuple[RecentIntent, ...] = ()
    handoff_at_ms: int = 0
    after_hours: bool = False
    claimed_by: str = ""
    claimed_name: str = ""
    claimed_at_ms: int = 0
    closed_name: str = ""
    handed_back_name: str = ""
    csat: str = ""
    # The thread whose close asked the customer for a rating; cleared once they answer.
    csat_thread: str = ""
    # Set by a hand-back: the assistant's memory of the conversation is reset before its next turn.
    bot_reset: bool = False
    # Who the customer is, when the shop vouched for them (None: not verified).
    customer: Customer | None = None
    # Where the customer writes from (a browser's address, a chat): the shop limits failed
    # order checks per source.
    source: str = ""
    # The language the customer wrote in when it is not English (ISO 639-1, for the card and
    # for what the bridge tells them); empty for English.
    language: str = ""

    @classmethod
    def from_hash(cls, conversation_id: str, data: dict[str, str]) -> Conversation:
        return cls(
            id=conversation_id,
            channel=Channel(data["channel"]),
            external_id=data.get("external_id", ""),
            display_name=data.get("display_name", ""),
            mode=Mode(data.get("mode", Mode.BOT)),
            thread_ts=data.get("thread_ts", ""),
            handoff_reason=data.get("handoff_reason", ""),
            trigger=data.get("trigger", ""),
            intents=RecentIntent.parse_list(data.get("intents", "")),
            handoff_at_ms=int(data.get("handoff_at") or 0),
            after_hours=data.get("after_hours") == "1",
            claimed_by=data.get("claimed_by", ""),
            claimed_name=data.get("claimed_name", ""),
            claimed_at_ms=int(data.get("claimed_at") or 0),
            closed_name=data.get("closed_name", ""),
            handed_back_name=data.get("handed_back_name", ""),
            csat=data.get("csat", ""),
            csat_thread=data.get("csat_thread", ""),
            bot_reset=data.get("bot_reset") == "1",
            customer=Customer.from_fields(data),
            source=data.get("source", ""),
            language=data.get("language", ""),
        )


@dataclass(frozen=True)
class RecentIntent:
    """What the assistant understood in one customer message, shown on the handoff card."""

    text: str
    intent: str
    confidence: float

    @staticmethod
    def dump_list(intents: list[RecentIntent]) -> str:
        return json.dumps([i.__dict__ for i in intents])

    @classmethod
    def parse_list(cls, raw: str) -> tuple[RecentIntent, ...]:
        try:
            items = json.loads(raw) if raw else []
            return tuple(
                cls(str(i["text"]), str(i["intent"]), float(i["confidence"])) for i in items
            )
        except (ValueError, TypeError, KeyError):
            return ()


@dataclass(frozen=True)
class Message:
    """One line of a conversation's transcript, as the widget protocol shows it."""

    role: Role
    text: str
    buttons: tuple[Button, ...] = ()
    id: str = ""
    client_msg_id: str = ""
    author: str = ""
    edited: bool = False  # a staff message changed after it was sent
    # An attached photo or file, kept in Redis (store.put_file); empty when there is none.
    file_id: str = ""
    file_name: str = ""
    file_type: str = ""

    @property
    def ts_ms(self) -> int:
        return int(self.id.split("-", 1)[0]) if self.id else 0

    def to_fields(self) -> dict[str, str]:
        fields = {"role": str(self.role), "text": self.text}
        if self.buttons:
            fields["buttons"] = json.dumps([b.__dict__ for b in self.buttons])
        if self.client_msg_id:
            fields["client_msg_id"] = self.client_msg_id
        if self.author:
            fields["author"] = self.author
        if self.file_id:
            fields.update(file=self.file_id, file_name=self.file_name, file_type=self.file_type)
        return fields

    @classmethod
    def from_fields(cls, entry_id: str, fields: dict[str, str]) -> Message:
        buttons = tuple(Button(**b) for b in json.loads(fields.get("buttons", "[]")))
        return cls(
            role=Role(fields["role"]),
            text=fields.get("text", ""),
            buttons=buttons,
            id=entry_id,
            client_msg_id=fields.get("client_msg_id", ""),
            author=fields.get("author", ""),
            file_id=fields.get("file", ""),
            file_name=fields.get("file_name", ""),
            file_type=fields.get("file_type", ""),
        )


@dataclass(frozen=True)
class Attachment:
    """A photo or file on its way in, before it is stored."""

    data: bytes
    name: str
    type: str


@dataclass(frozen=True)
class StaffMessageRef:
    """Where a staff member's message sits on the staff desk: its channel, its own id and the
    id of its thread (in Slack: the channel id, the message's ts and the thread's ts)."""

    channel: str
    id: str
    thread: str = ""


class DeskAction(StrEnum):
    """What staff can do to a handoff from its card (a first reply also claims)."""

    CLAIM = "claim"
    CLOSE = "close"
    HAND_BACK = "hand_back"


@dataclass(frozen=True)
class StaffReply:
    """A message a staff member wrote in a handoff thread, as the desk adapter read it."""

    ref: StaffMessageRef
    text: str  # plain text, as the customer will read it
    user_id: str
    author: str  # their display name ("" when the desk could not say)
    event_id: str
    attachments: tuple[Attachment, ...] = ()
