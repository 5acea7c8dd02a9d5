"""Display names of staff members, looked up once each (users.info, through the directory that
also says who counts as staff, so one lookup serves both)."""

from __future__ import annotations

import logging

from bridge.platforms.slack.staff import StaffDirectory

log = logging.getLogger(__name__)


class StaffNames:
    def __init__(self, directory: StaffDirectory) -> None:
        self._directory = directory
        self._names: dict[str, str] = {}

    async def display_name(self, user_id: str) -> str:
        if user_id not in self._names:
            try:
                user = await self._directory.user(user_id) or {}
            except Exception as exc:  # a missing name must never block the reply itself
                log.warning("users.info failed for %s: %s", user_id, exc)
                return ""
            profile = user.get("profile") or {}
            name = profile.get("display_name") or profile.get("real_name") or user.get("name")
            self._names[user_id] = str(name or "")
        return self._names[user_id]
