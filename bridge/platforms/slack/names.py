"""Display names of staff members, looked up once each (users.info)."""

from __future__ import annotations

import logging

from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)


class StaffNames:
    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client
        self._names: dict[str, str] = {}

    async def display_name(self, user_id: str) -> str:
        if user_id not in self._names:
            try:
                response = await self._client.users_info(user=user_id)
                user = response.get("user") or {}
                profile = user.get("profile") or {}
                name = profile.get("display_name") or profile.get("real_name") or user.get("name")
            except Exception as exc:  # a missing name must never block the reply itself
                log.warning("users.info failed for %s: %s", user_id, exc)
                return ""
            self._names[user_id] = str(name or "")
        return self._names[user_id]
