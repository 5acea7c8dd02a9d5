"""Idempotent posting: every post carries Slack message metadata naming the stream entries it
delivers, so a delivery whose earlier attempt is in doubt (a timeout, a dropped connection, a
5xx, or a process killed mid-delivery: `Delivery.unsure`) first reads the thread or channel
back with `include_all_metadata` and posts only what is not there yet."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from bridge.platforms.slack.api import SlackCalls

log = logging.getLogger(__name__)

# The metadata event type on every post: {"entries": "<stream>/<entry id>,…", "part": n,
# "parts": m} (a long text goes out in several parts).
DELIVERY_EVENT = "support_bridge_delivery"
# Looking for an earlier attempt's post starts this long before its job was queued (Redis's
# clock names the entry; Slack's names the message).
CLOCK_SKEW_S = 300.0
# ...and reads at most this many pages of 200 messages.
LOOKUP_PAGES = 10


def metadata(entries: list[str], part: int = 1, parts: int = 1) -> dict[str, Any] | None:
    """The metadata of a post delivering `entries` (Delivery.names); part `part` of `parts`."""
    if not entries:
        return None
    payload = {"entries": ",".join(entries), "part": part, "parts": parts}
    return {"event_type": DELIVERY_EVENT, "event_payload": payload}


@dataclass
class Seen:
    """Where one stream entry was found in Slack: the ts of each part posted."""

    parts: int
    ts: dict[int, str] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return len(self.ts) >= self.parts


async def earlier_posts(
    calls: SlackCalls, channel: str, thread_ts: str | None, entries: list[str]
) -> dict[str, Seen]:
    """What earlier attempts at delivering `entries` posted, by entry: read back the thread
    (conversations.replies) or the channel (conversations.history) with their metadata."""
    wanted = set(entries)
    seen: dict[str, Seen] = {}
    args: dict[str, Any] = {"channel": channel, "include_all_metadata": True, "limit": 200}
    if since := _oldest(entries):
        args["oldest"] = since
    cursor = ""
    for _ in range(LOOKUP_PAGES):
        if cursor:
            args["cursor"] = cursor
        if thread_ts:
            page = await calls(calls.client.conversations_replies, ts=thread_ts, **args)
        else:
            page = await calls(calls.client.conversations_history, **args)
        for message in page.get("messages") or []:
            meta = message.get("metadata") or {}
            if meta.get("event_type") != DELIVERY_EVENT:
                continue
            payload = meta.get("event_payload") or {}
            part, parts = _number(payload.get("part")), _number(payload.get("parts"))
            for entry in str(payload.get("entries") or "").split(","):
                if entry in wanted:
                    seen.setdefault(entry, Seen(parts)).ts[part] = str(message.get("ts"))
        cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "")
        if not cursor:
            break
    else:
        log.warning("delivery %s: looked back %d pages only", entries[0], LOOKUP_PAGES)
    return seen


def _oldest(entries: list[str]) -> str | None:
    """A Slack timestamp before any post of this delivery: its entries were queued (their ids
    start with Redis's time in ms) before any attempt."""
    queued = [
        int(ms) / 1000
        for name in entries
        if (ms := name.rsplit("/", 1)[-1].split("-", 1)[0]).isdigit()
    ]
    return f"{min(queued) - CLOCK_SKEW_S:.6f}" if queued else None


def _number(value: Any) -> int:
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return 1
