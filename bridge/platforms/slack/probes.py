"""Reachability checks of Slack for /readyz and `make check-deployment`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bridge.observability.probes import ProbeFailed, within
from bridge.platforms.slack import scopes


async def slack_auth(client: AsyncWebClient) -> str:
    response = await _slack(client.auth_test(), "auth.test")
    return f"token valid: team {response.get('team')!r}, bot user {response.get('user')!r}"


async def slack_scopes(client: AsyncWebClient) -> str:
    """The installed app has every scope the bridge calls need (Slack names a token's scopes
    in the `x-oauth-scopes` header of every answer)."""
    response = await _slack(client.auth_test(), "auth.test")
    headers = {name.lower(): value for name, value in (response.headers or {}).items()}
    granted = headers.get("x-oauth-scopes")
    if granted is None:
        return "Slack did not say which scopes the token has (no x-oauth-scopes header)"
    lacking = scopes.missing(str(granted))
    if lacking:
        raise ProbeFailed(
            f"the app lacks {', '.join(lacking)}: add them to the app's bot token scopes "
            "(as in deploy/slack-app-manifest.yml) and reinstall the app"
        )
    return f"all {len(scopes.BOT_SCOPES)} bot scopes the bridge needs are granted"


async def slack_channel(client: AsyncWebClient, channel_id: str) -> str:
    response = await _slack(client.conversations_info(channel=channel_id), "conversations.info")
    channel = response.get("channel") or {}
    if not channel.get("is_member"):
        raise ProbeFailed(
            f"the app is not a member of #{channel.get('name', channel_id)}: type "
            "`/invite @<app name>` in that channel"
        )
    return f"#{channel.get('name')} ({channel_id}) reachable, the app is a member"


async def slack_socket(connected: Callable[[], Awaitable[bool]]) -> str:
    """Socket Mode (SLACK_APP_TOKEN): is the bridge's WebSocket to Slack open?"""
    if await within(connected(), "Slack Socket Mode"):
        return "Socket Mode connection open"
    raise ProbeFailed(
        "no Socket Mode connection to Slack (retrying): Socket Mode must be on in the app's "
        "settings and SLACK_APP_TOKEN an app-level token with connections:write"
    )


async def slack_app_token(client: AsyncWebClient, app_token: str) -> str:
    """The app-level token may open Socket Mode connections (the URL it gets is not used)."""
    await _slack(client.apps_connections_open(app_token=app_token), "apps.connections.open")
    return "app-level token valid, Socket Mode connections can be opened"


async def _slack(call: Awaitable[Any], method: str) -> Any:
    try:
        return await within(call, f"Slack {method}")
    except SlackApiError as exc:
        raise ProbeFailed(f"Slack {method} failed: {exc.response.get('error')}") from None
    except (aiohttp.ClientError, OSError) as exc:
        raise ProbeFailed(f"Slack unreachable ({method}): {exc}") from None
