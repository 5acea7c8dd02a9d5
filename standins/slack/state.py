"""The one local workspace: users, channels, messages and threads, kept in memory.

Messages are stored as the JSON dicts Slack returns, so the API hands them out as they are.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]

TEAM_ID = "T0LOCAL"
TEAM_NAME = "Northwind (local)"
# Another organisation sharing the staff channel with this workspace (Slack Connect).
PARTNER_TEAM_ID = "T0PARTNER"
PARTNER_TEAM_NAME = "Acme Logistics"
TEAM_DOMAIN = "northwind-local"
TEAM_URL = f"https://{TEAM_DOMAIN}.slack.com/"
APP_ID = "A0LOCAL"
BOT_ID = "B0LOCAL"
BOT_USER_ID = "U0BOT"
BOT_NAME = "support-bridge"
STAFF_CHANNEL_ID = "C0STAFF"
# The channel topic spike alerts go to, when the stand-in is asked for one (`make run` does).
ALERTS_CHANNEL_ID = "C0ALERTS"
# A user group ("@support") with only some of the staff in it.
SUPPORT_GROUP_ID = "S0SUPPORT"


class SlackError(Exception):
    """An API error answered as {"ok": false, "error": code, **extra} (`extra`: what Slack adds,
    such as missing_scope's needed/provided or invalid_blocks' errors)."""

    def __init__(self, code: str, extra: JSON | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.extra = extra or {}


@dataclass(frozen=True)
class User:
    id: str
    name: str
    real_name: str
    is_bot: bool = False
    bot_id: str = ""
    # The user's home workspace: another one for a member of a Slack Connect organisation.
    team_id: str = TEAM_ID
    is_restricted: bool = False  # a guest (single-channel guests have both flags)
    is_ultra_restricted: bool = False  # a single-channel guest
    deleted: bool = False  # deactivated

    def to_json(self) -> JSON:
        profile: JSON = {
            "real_name": self.real_name,
            "display_name": self.real_name,
            "real_name_normalized": self.real_name,
            "display_name_normalized": self.real_name,
            "team": self.team_id,
        }
        if self.is_bot:
            profile.update(bot_id=self.bot_id, api_app_id=APP_ID)
        user: JSON = {
            "id": self.id,
            "team_id": self.team_id,
            "name": self.name,
            "real_name": self.real_name,
            "deleted": self.deleted,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "is_admin": False,
            "is_owner": False,
            "is_restricted": self.is_restricted,
            "is_ultra_restricted": self.is_ultra_restricted,
            "tz": "UTC",
            "profile": profile,
        }
        if self.team_id != TEAM_ID:
            # How Slack shows a member of another organisation in a shared channel.
            user["is_stranger"] = False
            user["enterprise_user"] = None
        return user

    @property
    def kind(self) -> str:
        """How the staff page labels someone who is not a member of this workspace."""
        if self.team_id != TEAM_ID:
            return PARTNER_TEAM_NAME if self.team_id == PARTNER_TEAM_ID else self.team_id
        if self.is_restricted or self.is_ultra_restricted:
            return "guest"
        return ""


STAFF = (User("U0ALICE", "alice", "Alice"), User("U0BOB", "bob", "Bob"))
# In the staff channel but not staff: a guest of this workspace, and a member of the partner
# organisation the channel is shared with (Slack Connect).
GUEST = User("U0GUEST", "gita", "Gita", is_restricted=True)
PARTNER = User("U0PARTNER", "omar", "Omar", team_id=PARTNER_TEAM_ID)
BOT = User(BOT_USER_ID, BOT_NAME, BOT_NAME, is_bot=True, bot_id=BOT_ID)
# Another app installed in the workspace (token `xoxb-other-…`): its posts must be ignored.
OTHER_BOT = User("U0OTHERBOT", "other-app", "Other App", is_bot=True, bot_id="B0OTHER")


@dataclass
class Channel:
    id: str
    name: str
    created: int = field(default_factory=lambda: int(time.time()))
    top_level: list[JSON] = field(default_factory=list)  # oldest first
    replies: dict[str, list[JSON]] = field(default_factory=dict)  # parent ts -> replies
    by_ts: dict[str, JSON] = field(default_factory=dict)  # every message, replies included
    members: set[str] = field(default_factory=set)  # user ids
    # A private channel: its scopes are groups:* rather than channels:* (standins/slack/scopes.py).
    is_private: bool = False

    def to_json(self) -> JSON:
        return {
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "is_channel": True,
            "is_group": False,
            "is_im": False,
            "is_private": self.is_private,
            "is_archived": False,
            "is_general": False,
            "is_member": True,
            "created": self.created,
            "creator": STAFF[0].id,
            "context_team_id": TEAM_ID,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {
                "value": "Customer conversations handed to people",
                "creator": "",
                "last_set": 0,
            },
        }

    def message(self, ts: str) -> JSON:
        msg = self.by_ts.get(ts)
        if msg is None:
            raise SlackError("message_not_found")
        return msg

    def parent_ts(self, ts: str) -> str | None:
        """The ts of the thread a post with this `thread_ts` goes in: the message's own, or its
        parent's when it is a reply; None when no message of this channel has that ts."""
        msg = self.by_ts.get(ts)
        if msg is None:
            return None
        parent_ts = str(msg.get("thread_ts", ts))
        return parent_ts if parent_ts in self.by_ts else None

    def thread(self, ts: str) -> list[JSON]:
        msg = self.by_ts.get(ts)
        if msg is None:
            raise SlackError("thread_not_found")
        parent_ts = msg.get("thread_ts", ts)
        parent = self.by_ts.get(parent_ts)
        if parent is None:
            raise SlackError("thread_not_found")
        return [parent, *self.replies.get(parent_ts, [])]


class Clock:
    """Message timestamps: "seconds.micros" strings, strictly increasing like Slack's."""

    def __init__(self) -> None:
        self._last = 0

    def next_ts(self) -> str:
        now = max(time.time_ns() // 1000, self._last + 1)
        self._last = now
        return f"{now // 1_000_000}.{now % 1_000_000:06d}"


class Workspace:
    def __init__(self, channel_name: str = "support") -> None:
        people = (BOT, OTHER_BOT, *STAFF, GUEST, PARTNER)
        self.users: dict[str, User] = {u.id: u for u in people}
        self.channels: dict[str, Channel] = {}
        self.clock = Clock()
        self.files: dict[str, Any] = {}  # file id -> files.SlackFile
        # User group id -> its members (usergroups.users.list).
        self.usergroups: dict[str, list[str]] = {SUPPORT_GROUP_ID: [STAFF[0].id]}
        # Ephemeral messages, oldest first: seen only by their user, never in any history.
        self.ephemeral: list[JSON] = []
        self.add_channel(STAFF_CHANNEL_ID, channel_name)

    def add_channel(self, channel_id: str, name: str, is_private: bool = False) -> Channel:
        # Everyone is in every channel (the partner's members too: the channels are shared).
        channel = Channel(channel_id, name, members=set(self.users), is_private=is_private)
        self.channels[channel_id] = channel
        return channel

    def create_channel(self, name: str, is_private: bool = False) -> Channel:
        name = name.lstrip("#").lower()
        if not name:
            raise SlackError("invalid_name_required")
        if any(c.name == name for c in self.channels.values()):
            raise SlackError("name_taken")
        return self.add_channel(f"C0{len(self.channels):07d}", name, is_private)

    def identity(self, token: str | None) -> User | None:
        """`xoxb-*` is the bot; `xoxp-<USERID>` is that staff member. (Which scopes each token
        has: scopes.py; only the bridge's own, `xoxb-local-bot`, is limited to the manifest's.)"""
        if not token:
            return None
        if token.startswith("xoxb-other-"):
            return OTHER_BOT
        if token.startswith("xoxb-"):
            return BOT
        if token.startswith("xoxp-"):
            user = self.users.get(token.removeprefix("xoxp-"))
            return user if user is not None and not user.is_bot else None
        return None

    def channel(self, ref: Any) -> Channel:
        """By id, or by name (with or without '#') as chat.postMessage allows."""
        if isinstance(ref, str) and ref:
            if ref in self.channels:
                return self.channels[ref]
            name = ref.removeprefix("#")
            for channel in self.channels.values():
                if channel.name == name:
                    return channel
        raise SlackError("channel_not_found")

    def post(
        self,
        channel: Channel,
        user: User,
        text: str,
        blocks: list[JSON] | None,
        thread_ts: str | None,
    ) -> JSON:
        msg: JSON = {"type": "message", "user": user.id, "text": text}
        if blocks:
            msg["blocks"] = blocks
        if user.is_bot:
            msg["bot_id"] = user.bot_id
            msg["app_id"] = APP_ID
            msg["bot_profile"] = {
                "id": user.bot_id,
                "app_id": APP_ID,
                "name": user.name,
                "deleted": False,
                "team_id": TEAM_ID,
            }
        parent: JSON | None = None
        if thread_ts:
            # Replying to a reply threads under its parent, as in Slack.
            parent_ts = channel.parent_ts(thread_ts)
            parent = channel.by_ts[parent_ts] if parent_ts is not None else None
        ts = self.clock.next_ts()
        msg["ts"] = ts
        msg["team"] = user.team_id
        if user.team_id != TEAM_ID:  # a shared channel names the author's own workspace
            msg["user_team"] = msg["source_team"] = user.team_id
        if thread_ts and parent is None:
            # A thread_ts that is no message's: Slack answers ok and keeps the post as a reply
            # to that ts, shown nowhere (not in the channel's history, no thread to open): the
            # chat.postMessage error list has no thread error (python-slack-sdk #840,
            # node-slack-sdk #780). Kept so its ts answers chat.update/delete like Slack's.
            msg["thread_ts"] = thread_ts
        elif parent is None:
            channel.top_level.append(msg)
        else:
            msg["thread_ts"] = parent["ts"]
            msg["parent_user_id"] = parent["user"]
            replies = channel.replies.setdefault(parent["ts"], [])
            replies.append(msg)
            users = list(dict.fromkeys([*parent.get("reply_users", []), user.id]))
            parent.update(
                thread_ts=parent["ts"],
                reply_count=len(replies),
                reply_users=users,
                reply_users_count=len(users),
                latest_reply=ts,
            )
        channel.by_ts[ts] = msg
        return msg

    def delete(self, channel: Channel, ts: str) -> JSON:
        msg = channel.message(ts)
        del channel.by_ts[ts]
        parent_ts = msg.get("thread_ts")
        if parent_ts is None or parent_ts == ts:
            channel.top_level.remove(msg)
        elif msg in channel.replies.get(parent_ts, []):  # else a reply to no message, shown nowhere
            replies = channel.replies[parent_ts]
            replies.remove(msg)
            parent = channel.by_ts.get(parent_ts)
            if parent is not None:
                parent["reply_count"] = len(replies)
                parent["latest_reply"] = replies[-1]["ts"] if replies else parent_ts
        return msg
