"""Reachability checks shared by /readyz and `python -m bridge.deploy_check`.

Each probe returns a one-line description of what it found and raises ProbeFailed, with what
to fix, when the dependency is not usable.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

import aiohttp
from redis.asyncio import Redis
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from telegram import Bot
from telegram.error import TelegramError

T = TypeVar("T")
TIMEOUT_S = 5.0


class ProbeFailed(Exception):
    pass


async def _within(step: Awaitable[T], what: str) -> T:
    try:
        return await asyncio.wait_for(step, TIMEOUT_S)
    except TimeoutError:
        raise ProbeFailed(f"{what} did not answer within {TIMEOUT_S:.0f}s") from None


async def redis(client: Redis) -> str:
    try:
        await _within(client.ping(), "Redis")
    except Exception as exc:  # redis-py wraps socket errors in its own classes
        raise ProbeFailed(f"Redis unreachable: {exc}") from None
    return "PING answered"


async def rasa(http: aiohttp.ClientSession, base_url: str) -> str:
    try:
        async with http.get(
            base_url.rstrip("/") + "/", timeout=aiohttp.ClientTimeout(total=TIMEOUT_S)
        ) as response:
            body = (await response.text())[:80]
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise ProbeFailed(f"Rasa unreachable at {base_url}: {exc or type(exc).__name__}") from None
    if response.status != 200:
        raise ProbeFailed(f"Rasa at {base_url} answered HTTP {response.status}")
    return body.strip()


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


async def telegram_bot(bot: Bot) -> str:
    me = await _telegram(bot.get_me(), "getMe")
    return f"token valid: @{me.username}"


async def telegram_webhook(bot: Bot, expected_url: str) -> str:
    info = await _telegram(bot.get_webhook_info(), "getWebhookInfo")
    if info.url != expected_url:
        raise ProbeFailed(
            f"webhook is {info.url or 'not set'!r}, expected {expected_url!r}: start the bridge "
            "with TELEGRAM_SET_WEBHOOK=true or run `python -m bridge.deploy_check "
            "--set-telegram-webhook`"
        )
    if info.last_error_message:
        return f"webhook set to {info.url} (last delivery error: {info.last_error_message})"
    return f"webhook set to {info.url}"


async def _slack(call: Awaitable[Any], method: str) -> Any:
    try:
        return await _within(call, f"Slack {method}")
    except SlackApiError as exc:
        raise ProbeFailed(f"Slack {method} failed: {exc.response.get('error')}") from None
    except (aiohttp.ClientError, OSError) as exc:
        raise ProbeFailed(f"Slack unreachable ({method}): {exc}") from None


async def _telegram(call: Awaitable[T], method: str) -> T:
    try:
        return await _within(call, f"Telegram {method}")
    except TelegramError as exc:
        raise ProbeFailed(f"Telegram {method} failed: {exc.message}") from None
