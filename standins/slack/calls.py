"""One Web API call as the stand-in's methods see it, and the `message` event a new message
makes (shared by chat.postMessage and the file upload's completion)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .events import EventDispatcher
from .state import Channel, User, Workspace

JSON = dict[str, Any]


@dataclass
class Call:
    ws: Workspace
    events: EventDispatcher
    user: User
    params: JSON
    base_url: str = ""  # this stand-in's own address, for upload and download URLs

    def channel(self) -> Channel:
        return self.ws.channel(self.params.get("channel"))

    def text(self, name: str) -> str:
        value = self.params.get(name)
        return "" if value is None else str(value)

    def flag(self, name: str) -> bool:
        """A boolean argument: slack_sdk sends 1/0 in query strings, true/false in JSON."""
        return str(self.params.get(name, "")).lower() in ("1", "true")


def message_event(channel: Channel, msg: JSON) -> JSON:
    """The `message` event Slack delivers for a new message (thread replies keep no subtype)."""
    event = {k: v for k, v in msg.items() if k not in ("reactions", "metadata")}
    event.update(channel=channel.id, event_ts=msg["ts"], channel_type="channel")
    return event
