"""Reachability checks of Slack for /readyz and `make check-deployment`."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bridge.observability.probes import ProbeFailed, within


async def slack_auth(client: AsyncWebClient) -> str:
    response = await _slack(client.auth_test(), "auth.test")
    return f"token valid: team {response.get('team')!r}, bot user {response.get('user')!r}"


async def slack_channel(client: AsyncWebClient, channel_id: str) -> str:
    response = await _slack(client.conversations_info(channel=channel_id), "conversations.info")
    channel = response.get("channel") or {}
    if not channel.get("is_member"):
        raise ProbeFailed(
            f"the app is not a member of #{channel.get('name', channel_id)}: type "
            "`/invite @<app name>` in that channel"
        )
    return f"#{channel.get('name')} ({channel_id}) reachable, the app is a member"


async def _slack(call: Awaitable[Any], method: str) -> Any:
    try:
        return await within(call, f"Slack {method}")
    except SlackApiError as exc:
        raise ProbeFailed(f"Slack {method} failed: {exc.response.get('error')}") from None
    except (aiohttp.ClientError, OSError) as exc:
        raise ProbeFailed(f"Slack unreachable ({method}): {exc}") from None
