"""Who counts as staff (docs/staff-desk.md, "Who counts as staff").

In a channel shared with another organisation (Slack Connect) or with guests, only members of
the installing workspace reach customers, and when `SLACK_STAFF_USERGROUP` is set only the
members of that user group. Decided from `users.info` (the author's `team_id`, guest flags, bot,
deactivated) and `usergroups.users.list`, each cached briefly, so a change in Slack (a guest
promoted, someone removed from the group) takes effect within a minute. The bridge's own user
is recognised by its user id (from `auth.test`), not only by a message's `bot_id`.

A lookup Slack cannot answer (unreachable, rate limited) raises `StaffUnknown`: the request
then fails, so Slack redelivers it later, and nothing reaches a customer unchecked.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bridge.texts import staff as texts

log = logging.getLogger(__name__)

# How long an answer from Slack about a user (or the group's members) is trusted.
CACHE_TTL_S = 60.0
# Slack waits 3 s for our answer; a lookup must leave room for the rest of the request.
LOOKUP_TIMEOUT_S = 2.0
# users.info errors that mean "no such person" rather than "Slack could not say".
_NO_SUCH_USER = {"user_not_found", "user_not_visible", "account_inactive"}
# What a Slack user id looks like (W…: Enterprise Grid); anything else is not looked up.
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")


class StaffUnknown(Exception):
    """Slack could not say who someone is; the request should be redelivered later."""


class Refusal(StrEnum):
    """Why a message's author (or a button's presser) is not staff."""

    OTHER_ORGANISATION = "other_organisation"  # Slack Connect: another workspace's member
    GUEST = "guest"  # a multi- or single-channel guest of this workspace
    NOT_IN_GROUP = "not_in_group"  # SLACK_STAFF_USERGROUP is set and they are not in it
    NOT_A_PERSON = "not_a_person"  # a bot, a deactivated or unknown account: told nothing
    OURSELVES = "ourselves"  # the bridge's own user: told nothing

    @property
    def told(self) -> bool:
        """Whether they get an ephemeral notice saying why."""
        return self in texts.NOT_STAFF_REASONS


@dataclass(frozen=True)
class Installation:
    """The workspace the app is installed in and the app's own user (auth.test)."""

    team_id: str
    user_id: str
    bot_id: str


class _Cache:
    """Answers kept for CACHE_TTL_S; concurrent lookups of one key share one call."""

    def __init__(self, ttl_s: float, clock: Callable[[], float]) -> None:
        self._ttl_s = ttl_s
        self._clock = clock
        self._values: dict[str, tuple[float, Any]] = {}
        self._pending: dict[str, asyncio.Future[Any]] = {}

    async def get(self, key: str, load: Callable[[], Awaitable[Any]]) -> Any:
        now = self._clock()
        found = self._values.get(key)
        if found is not None and found[0] > now:
            return found[1]
        pending = self._pending.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            value = await load()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: nobody else may be waiting
            raise
        else:
            future.set_result(value)
            if len(self._values) > 10_000:  # bounded: drop what has expired
                self._values = {k: v for k, v in self._values.items() if v[0] > now}
            self._values[key] = (self._clock() + self._ttl_s, value)
            return value
        finally:
            del self._pending[key]


class StaffDirectory:
    def __init__(
        self,
        client: AsyncWebClient,
        usergroup: str = "",
        ttl_s: float = CACHE_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._usergroup = usergroup
        self._cache = _Cache(ttl_s, clock)
        self._installation: Installation | None = None

    async def installation(self) -> Installation:
        """The installing workspace and our own user, asked once (auth.test)."""
        if self._installation is None:
            found = await self._call(self._client.auth_test)
            self._installation = Installation(
                str(found.get("team_id") or ""),
                str(found.get("user_id") or ""),
                str(found.get("bot_id") or ""),
            )
        return self._installation

    async def user(self, user_id: str) -> dict[str, Any] | None:
        """The user as users.info shows them (cached), or None when there is no such user."""
        if not user_id:
            return None
        found: dict[str, Any] | None = await self._cache.get(
            f"user:{user_id}", lambda: self._user_info(user_id)
        )
        return found

    async def refusal(self, user_id: str) -> Refusal | None:
        """None when `user_id` is staff; else why not. Raises StaffUnknown."""
        installation = await self.installation()
        if user_id == installation.user_id:
            return Refusal.OURSELVES
        if not _USER_ID.fullmatch(user_id):
            return Refusal.NOT_A_PERSON  # not from Slack
        user = await self.user(user_id)
        if user is None or user.get("deleted") or user.get("is_bot"):
            return Refusal.NOT_A_PERSON
        if str(user.get("team_id") or "") != installation.team_id:
            return Refusal.OTHER_ORGANISATION
        if user.get("is_restricted") or user.get("is_ultra_restricted"):
            return Refusal.GUEST
        if self._usergroup and user_id not in await self._group_members():
            return Refusal.NOT_IN_GROUP
        return None

    async def is_ours(self, message: dict[str, Any]) -> bool:
        """Whether the bridge itself posted `message` (by its bot id or its user id)."""
        installation = await self.installation()
        bot_id, user = message.get("bot_id"), message.get("user")
        return bool(
            (bot_id and bot_id == installation.bot_id) or (user and user == installation.user_id)
        )

    async def _user_info(self, user_id: str) -> dict[str, Any] | None:
        try:
            found = await self._call(self._client.users_info, user=user_id)
        except StaffUnknown as exc:
            if isinstance(exc.__cause__, SlackApiError):
                if exc.__cause__.response.get("error") in _NO_SUCH_USER:
                    return None
            raise
        user = found.get("user")
        return user if isinstance(user, dict) else None

    async def _group_members(self) -> frozenset[str]:
        members: frozenset[str] = await self._cache.get(
            f"group:{self._usergroup}", self._load_group
        )
        return members

    async def _load_group(self) -> frozenset[str]:
        try:
            found = await self._call(self._client.usergroups_users_list, usergroup=self._usergroup)
        except StaffUnknown as exc:
            cause = exc.__cause__
            if isinstance(cause, SlackApiError) and cause.response.status_code < 500:
                if cause.response.get("error") != "ratelimited":
                    # A group that does not exist (or a missing usergroups:read scope): nobody
                    # is in it, so nobody reaches customers until it is fixed, and staff are
                    # told why.
                    log.error(
                        "SLACK_STAFF_USERGROUP %s: usergroups.users.list refused (%s)",
                        self._usergroup,
                        cause.response.get("error"),
                    )
                    return frozenset()
            raise
        return frozenset(str(u) for u in found.get("users") or [])

    async def _call(self, method: Callable[..., Awaitable[Any]], **kwargs: Any) -> dict[str, Any]:
        try:
            async with asyncio.timeout(LOOKUP_TIMEOUT_S):
                response = await method(**kwargs)
        except Exception as exc:  # a refusal, a timeout, no connection
            log.warning("Slack could not say who is staff: %r", exc)
            raise StaffUnknown(str(exc)) from exc
        data = response.data
        return data if isinstance(data, dict) else {}


class Notices:
    """The ephemeral notice someone who is not staff gets: only they see it, and only once
    for one message or click (Slack may deliver it more than once)."""

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client
        self._told: dict[str, None] = {}  # recent once keys, oldest first

    async def tell(
        self,
        refusal: Refusal,
        channel: str,
        user_id: str,
        outcome: str,
        once: str,
        thread_ts: str = "",
    ) -> None:
        """`outcome`: what did not happen (texts.NOT_SENT_NOT_STAFF, texts.NOT_DONE_NOT_STAFF)."""
        if not refusal.told or once in self._told:
            return
        self._told[once] = None
        while len(self._told) > 10_000:
            del self._told[next(iter(self._told))]
        text = texts.not_staff(outcome, texts.NOT_STAFF_REASONS[refusal])
        try:
            async with asyncio.timeout(LOOKUP_TIMEOUT_S):
                await self._client.chat_postEphemeral(
                    channel=channel, user=user_id, text=text, thread_ts=thread_ts or None
                )
        except Exception as exc:  # they left the channel, say: what matters is nothing was sent
            log.warning("could not tell %s why their action was refused: %r", user_id, exc)
