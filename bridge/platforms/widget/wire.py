"""The widget protocol's frames (docs/widget-protocol.md) for the bridge's messages."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from bridge.models import Message

FILES_PATH = "/widget/files"


def message(m: Message) -> dict[str, Any]:
    """One transcript line as the widget shows it."""
    wire: dict[str, Any] = {
        "id": m.id,
        "role": str(m.role),
        "text": m.text,
        "buttons": [b.__dict__ for b in m.buttons],
        "ts": m.ts_ms,
    }
    if m.client_msg_id:
        wire["client_msg_id"] = m.client_msg_id
    if m.author:
        wire["author"] = m.author
    if m.edited:
        wire["edited"] = True
    if m.file_id:
        wire["file"] = {
            "url": f"{FILES_PATH}/{m.file_id}/{url_name(m.file_name)}",
            "name": m.file_name,
            "type": m.file_type,
        }
    return wire


def url_name(file_name: str) -> str:
    """The file's name as the last segment of its link: a slash in it ("a/b.png") would make
    the link another path, so it is replaced, and the rest is percent-encoded."""
    name = (file_name or "file").replace("/", "_").replace("\\", "_")
    return quote(name, safe="")


def message_frame(m: Message) -> str:
    return json.dumps({"type": "message", **message(m)})


def revision_frame(message_id: str, text: str | None) -> str:
    if text is None:
        return json.dumps({"type": "delete", "id": message_id})
    return json.dumps({"type": "update", "id": message_id, "text": text})
