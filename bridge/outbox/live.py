"""A conversation's live feed: an event published (Redis pub/sub) in the step that writes a line
to its transcript, so whichever replica holds the customer's open sockets shows it at once.

A line travels as its transcript fields (`Message.to_fields`), so the feed knows no platform;
the widget turns it into its own frame. The publishing replica sends the line to the sockets it
holds itself (`LiveSockets.deliver`, no round trip through Redis) and names itself as the
event's `origin`, so it skips the event when it comes back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

from bridge import keys
from bridge.models import Message

# Lua: publish the event cut by `line_event` once the entry id `id` exists. Expects locals
# `channel` ('' publishes nothing), `head`, `tail` and `id`.
PUBLISH_LUA = """
if channel ~= '' then redis.call('PUBLISH', channel, head .. id .. tail) end
"""


class LiveSockets(Protocol):
    """The open customer sockets this process holds (the widget's hub)."""

    origin: str

    async def deliver(self, conversation_id: str, message: Message) -> None: ...


@dataclass(frozen=True)
class LiveLine:
    conversation: str
    origin: str
    entry_id: str
    fields: dict[str, str]

    @property
    def message(self) -> Message:
        # Built on demand: the publisher's own hub skips its events unread.
        return Message.from_fields(self.entry_id, self.fields)


@dataclass(frozen=True)
class LiveRevision:
    """A staff message already shown was edited (`text`) or withdrawn (None)."""

    conversation: str
    message_id: str
    text: str | None


def line_event(conversation_id: str, message: Message, origin: str) -> list[str]:
    """Script arguments that publish `message` in the step that creates its transcript entry:
    the channel, and the event's text before and after the entry id (only the script knows it)."""
    head = json.dumps({"origin": origin, "conversation": conversation_id})[:-1] + ', "id": "'
    tail = '", "line": ' + json.dumps(message.to_fields()) + "}"
    return [keys.WIDGET_EVENTS, head, tail]


def no_event() -> list[str]:
    """The same arguments for a conversation with no live sockets to reach."""
    return ["", "", ""]


def revision_event(conversation_id: str, message_id: str, text: str | None) -> str:
    return json.dumps({"conversation": conversation_id, "revised": message_id, "text": text})


def parse(raw: str) -> LiveLine | LiveRevision:
    event: dict[str, Any] = json.loads(raw)
    conversation = str(event["conversation"])
    if "revised" in event:
        text = event.get("text")
        return LiveRevision(
            conversation, str(event["revised"]), None if text is None else str(text)
        )
    return LiveLine(conversation, str(event.get("origin") or ""), str(event["id"]), event["line"])
