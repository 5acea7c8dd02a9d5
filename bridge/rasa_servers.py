"""Which of the configured Rasa servers takes a conversation's turn, and which are up.

Every server shares the trackers and the lock store in Redis (deploy/endpoints.yml), so any of
them can take any turn; a conversation still sticks to one server while it is up (rendezvous
hashing over the healthy servers), which keeps two servers from queueing on one conversation's
lock. A background check asks each server's `/` every few seconds; a turn that cannot connect
marks its server down at once (docs/scaling.md#several-rasa-servers).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Iterable

import aiohttp

log = logging.getLogger(__name__)

CHECK_INTERVAL_S = 2.0
CHECK_TIMEOUT_S = 2.0


def parse_urls(value: str) -> list[str]:
    """RASA_URL: one address or several, comma-separated; each without its trailing slash."""
    urls: list[str] = []
    for part in value.split(","):
        url = part.strip().rstrip("/")
        if url and url not in urls:
            urls.append(url)
    return urls


def _weight(server: str, conversation_id: str) -> bytes:
    return hashlib.blake2b(f"{server}\n{conversation_id}".encode(), digest_size=8).digest()


def rendezvous(conversation_id: str, servers: Iterable[str]) -> list[str]:
    """`servers` in the conversation's order of preference (highest random weight first).

    Removing a server moves only the conversations that preferred it; the others keep theirs.
    """
    return sorted(servers, key=lambda s: (_weight(s, conversation_id), s), reverse=True)


class RasaServers:
    """The configured servers and what is known of their health."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        urls: list[str],
        interval_s: float = CHECK_INTERVAL_S,
        check_timeout_s: float = CHECK_TIMEOUT_S,
    ) -> None:
        if not urls:
            raise ValueError("no Rasa server configured")
        self._session = session
        self.urls = list(urls)
        self._up = dict.fromkeys(self.urls, True)  # until a check or a turn says otherwise
        self._interval_s = interval_s
        self._timeout = aiohttp.ClientTimeout(total=check_timeout_s)

    def is_up(self, url: str) -> bool:
        return self._up.get(url, False)

    def healthy(self) -> list[str]:
        return [url for url in self.urls if self._up[url]]

    def order(self, conversation_id: str) -> list[str]:
        """Where to try the conversation's turn: the healthy servers in its order of
        preference, then the ones marked down (a last resort: one may be back before the next
        check says so, and a refused connection costs little)."""
        ranked = rendezvous(conversation_id, self.urls)
        return [u for u in ranked if self._up[u]] + [u for u in ranked if not self._up[u]]

    def mark_down(self, url: str, why: str) -> None:
        if self._up.get(url):
            log.warning("rasa server %s marked down: %s", url, why)
        self._up[url] = False

    def mark_up(self, url: str) -> None:
        if url in self._up and not self._up[url]:
            log.info("rasa server %s is up again", url)
        self._up[url] = True

    async def check(self, url: str) -> bool:
        """One health check of `url`; marks it up or down."""
        try:
            async with self._session.get(url + "/", timeout=self._timeout) as response:
                ok = response.status == 200
                why = f"HTTP {response.status}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            ok, why = False, str(exc) or type(exc).__name__
        if ok:
            self.mark_up(url)
        else:
            self.mark_down(url, why)
        return ok

    async def check_all(self) -> None:
        await asyncio.gather(*(self.check(url) for url in self.urls))

    async def watch(self) -> None:
        """The background health check (runs for the process's lifetime)."""
        while True:
            await self.check_all()
            await asyncio.sleep(self._interval_s)

    async def refuses(self, url: str) -> bool:
        """Whether `url` is certainly not running: its address refuses connections (a killed
        process). False when it answers anything, or does not answer in time (unclear)."""
        try:
            async with self._session.get(url + "/", timeout=self._timeout):
                return False
        except aiohttp.ClientConnectorError as exc:
            return not isinstance(exc, TimeoutError)
        except (aiohttp.ClientError, TimeoutError):
            return False
