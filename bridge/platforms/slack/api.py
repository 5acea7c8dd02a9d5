"""Slack Web API calls for the sender: every call bounded, paced by the shared rate limit, and
its failures sorted into retry-later (and whether Slack may have acted anyway) and never."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bridge.outbox.delivery import RetryLater, Undeliverable
from bridge.rate_limits import PlatformLimiter

# Errors that mean the call's goal is already reached.
_ALREADY_DONE = {"already_reacted"}

Method = Callable[..., Awaitable[AsyncSlackResponse]]


class SlackCalls:
    def __init__(
        self, client: AsyncWebClient, timeout_s: float, limiter: PlatformLimiter | None = None
    ) -> None:
        # A client of our own: the same workspace and session, every call bounded, and without
        # slack_sdk's silent retry after a dropped connection (it would post a second copy
        # when the first went through); failures come back here and are retried knowingly.
        self.client = AsyncWebClient(
            token=client.token,
            base_url=client.base_url,
            timeout=max(1, math.ceil(timeout_s)),
            ssl=client.ssl,
            proxy=client.proxy,
            session=client.session,
            headers=dict(client.headers),
            retry_handlers=[],
        )
        self.timeout_s = timeout_s
        self._limiter = limiter

    async def post_free(self, channel: str) -> None:
        """Wait until `channel` may be posted to, without taking the slot."""
        if self._limiter is not None:
            await self._limiter.slack_post_free(channel)

    async def __call__(
        self,
        method: Method,
        timeout_s: float | None = None,
        gives_way: bool = False,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Call `method` with `kwargs`. `gives_way`: a post that lets every other post waiting
        for the channel go first (a guest's new thread: docs/abuse.md)."""
        if self._limiter is not None and method == self.client.chat_postMessage:
            await self._limiter.slack_post(str(kwargs["channel"]), gives_way)
        timeout = timeout_s or self.timeout_s
        try:
            async with asyncio.timeout(timeout):
                response = await method(**kwargs)
        except SlackApiError as exc:
            status = exc.response.status_code
            if status == 429 or status >= 500:
                headers = exc.response.headers
                retry_after = headers.get("Retry-After") or headers.get("retry-after")
                # A 5xx (a gateway timing out, say) does not prove the call was not carried out.
                raise RetryLater(
                    f"Slack HTTP {status}", _seconds(retry_after), outcome_unknown=status >= 500
                ) from exc
            if exc.response.get("error") in _ALREADY_DONE:
                return {}
            raise Undeliverable(f"Slack refused: {exc.response.get('error')}") from exc
        except aiohttp.ClientConnectorError as exc:  # no connection: nothing reached Slack
            raise RetryLater(f"Slack unreachable: {exc!r}") from exc
        except TimeoutError as exc:
            raise RetryLater(
                f"Slack did not answer within {timeout:g}s", outcome_unknown=True
            ) from exc
        except aiohttp.ClientError as exc:  # the connection dropped: the call may have landed
            raise RetryLater(f"Slack connection failed: {exc!r}", outcome_unknown=True) from exc
        return dict(response.data) if isinstance(response.data, dict) else {}


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
