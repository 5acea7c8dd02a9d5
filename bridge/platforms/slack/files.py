"""Files a staff member attaches in a thread, fetched from Slack to be sent on to the customer."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from bridge import keys
from bridge.models import Attachment

log = logging.getLogger(__name__)


class SlackFiles:
    def __init__(self, bot_token: str, api_url: str) -> None:
        self._token = bot_token
        self._api_host = urlsplit(api_url).netloc

    async def fetch(self, files: list[dict[str, Any]]) -> list[Attachment]:
        """The files' contents. Raises on network errors, so Slack redelivers the event."""
        found = []
        for file in files:
            url = str(file.get("url_private_download") or file.get("url_private") or "")
            if not self._is_slack(url):
                log.warning("not fetching %r: not a Slack file URL", url)
                continue
            if int(file.get("size") or 0) > keys.ATTACHMENT_MAX_BYTES:
                log.warning("not fetching %s: over the size limit", file.get("id"))
                continue
            headers = {"Authorization": f"Bearer {self._token}"}
            async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as response:
                response.raise_for_status()
                if response.content_type == "text/html" and "html" not in str(file.get("mimetype")):
                    # Slack's answer to a missing files:read scope is a sign-in page.
                    log.warning("Slack refused file %s; does the app have files:read?", file["id"])
                    continue
                data = await response.read()
            name = str(file.get("name") or "file")
            kind = str(file.get("mimetype") or "application/octet-stream")
            found.append(Attachment(data, name, kind))
        return found

    def _is_slack(self, url: str) -> bool:
        # The bot token goes only to Slack's own file hosts (or the stand-in).
        parts = urlsplit(url)
        host = parts.hostname or ""
        return parts.netloc == self._api_host or (
            parts.scheme == "https" and (host == "slack.com" or host.endswith(".slack.com"))
        )
