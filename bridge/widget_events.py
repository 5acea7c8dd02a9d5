"""The one shape of the event that wakes a conversation's open widget sockets on every replica
(WidgetHub turns it into a frame), including the form a Lua script can publish in the same step
that creates the message's transcript entry."""

from __future__ import annotations

import json

from bridge.models import Message

# Lua: publish the event cut by `around_id` once the entry id `id` exists (its time in ms is
# the message's `ts`). Expects locals `channel`, `head`, `tail` and `id`.
PUBLISH_LUA = """
if channel ~= '' then
  redis.call('PUBLISH', channel, head .. id .. '", "ts": ' .. string.match(id, '^%d+') .. tail)
end
"""


def around_id(conversation_id: str, message: Message, origin: str = "") -> tuple[str, str]:
    """The event `{"origin": …, "conversation": …, "message": message.to_wire()}` for `message`
    before it has an id, cut where its entry id and time go (`<id>", "ts": <ms>`), so a script
    can publish it in the step that creates the entry. `origin`: the publishing process's hub,
    which has delivered it to its own sockets already (WidgetHub.deliver)."""
    wire = message.to_wire()
    del wire["id"], wire["ts"]
    rest = json.dumps(wire)  # '{"role": ...}': never empty, role and text are always there
    head = (
        '{"origin": '
        + json.dumps(origin)
        + ', "conversation": '
        + json.dumps(conversation_id)
        + ', "message": {"id": "'
    )
    return head, ", " + rest[1:] + "}"
