"""The bridge's domain objects, independent of any platform."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Mode(StrEnum):
    BOT = "bot"
    HUMAN = "human"


class Channel(StrEnum):
    WIDGET = "widget"
    TELEGRAM = "telegram"


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


@dataclass(frozen=True)
class Conversation:
    id: str
    channel: Channel
    external_id: str
    display_name: str
    mode: Mode = Mode.BOT
    thread_ts: str = ""
    handoff_reason: str = ""

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
        )


@dataclass(frozen=True)
class Message:
    """One line of a conversation's transcript, as the widget protocol shows it."""

    role: Role
    text: str
    buttons: tuple[Button, ...] = ()
    id: str = ""
    client_msg_id: str = ""
    author: str = ""
    extra: dict[str, str] = field(default_factory=dict)

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
        )

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "id": self.id,
            "role": str(self.role),
            "text": self.text,
            "buttons": [b.__dict__ for b in self.buttons],
            "ts": self.ts_ms,
        }
        if self.client_msg_id:
            wire["client_msg_id"] = self.client_msg_id
        if self.author:
            wire["author"] = self.author
        return wire
