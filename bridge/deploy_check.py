"""`python -m bridge.deploy_check` (`make check-deployment`): is this deployment wired up?

Checks, with the same settings the bridge would use: Redis and Rasa answer, the Slack token is
valid and has the scopes the bridge needs, the staff channel exists and the app is in it, with
SLACK_APP_TOKEN the app-level token can open Socket Mode connections (no request URL to check
then), the Telegram token is valid and the webhook points at this bridge (with
TELEGRAM_UPDATES=polling: that no webhook is set).
One PASS/FAIL line per check; exit status 1 if any failed.

`--set-telegram-webhook` registers <BRIDGE_PUBLIC_URL>/telegram/webhook first, as the bridge
does at start with TELEGRAM_SET_WEBHOOK=true.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable

import aiohttp
from redis.asyncio import Redis
from slack_sdk.web.async_client import AsyncWebClient
from telegram import Bot

from bridge.observability import probes
from bridge.platforms.slack import probes as slack_probes
from bridge.platforms.telegram import probes as telegram_probes
from bridge.platforms.telegram.webhook import ALLOWED_UPDATES, WEBHOOK_PATH
from bridge.settings import Settings, SettingsError, load_settings

Check = tuple[str, Callable[[], Awaitable[str]]]


async def run_checks(settings: Settings, set_webhook: bool = False) -> bool:
    redis = Redis.from_url(settings.redis_url, decode_responses=True)
    slack = AsyncWebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url)
    bot = (
        Bot(
            settings.telegram_bot_token,
            base_url=settings.telegram_api_url,
            base_file_url=settings.telegram_file_url,
        )
        if settings.telegram_enabled
        else None
    )
    webhook_url = settings.public_url + WEBHOOK_PATH
    async with aiohttp.ClientSession() as http:
        checks: list[Check] = [
            ("redis", lambda: probes.redis(redis)),
            ("rasa", lambda: probes.rasa(http, settings.rasa_url)),
            ("slack token (auth.test)", lambda: slack_probes.slack_auth(slack)),
            ("slack scopes (x-oauth-scopes)", lambda: slack_probes.slack_scopes(slack)),
            (
                "slack staff channel (conversations.info)",
                lambda: slack_probes.slack_channel(slack, settings.slack_channel_id),
            ),
        ]
        if settings.slack_app_token:
            checks.append(
                (
                    "slack socket mode (apps.connections.open)",
                    lambda: slack_probes.slack_app_token(slack, settings.slack_app_token),
                )
            )
        if bot is not None:
            if set_webhook:
                checks.append(("telegram set webhook", lambda: _set_webhook(bot, settings)))
            checks.append(("telegram token (getMe)", lambda: telegram_probes.telegram_bot(bot)))
            if settings.telegram_polling:  # TELEGRAM_UPDATES=polling: no webhook may be set
                checks.append(
                    (
                        "telegram updates (getWebhookInfo)",
                        lambda: telegram_probes.telegram_polling(bot),
                    )
                )
            else:
                checks.append(
                    (
                        "telegram webhook (getWebhookInfo)",
                        lambda: telegram_probes.telegram_webhook(bot, webhook_url),
                    )
                )
        ok = True
        for name, check in checks:
            try:
                detail = await check()
            except probes.ProbeFailed as exc:
                ok = False
                print(f"FAIL  {name}: {exc}", flush=True)
            else:
                print(f"PASS  {name}: {detail}", flush=True)
        if bot is None:
            print("SKIP  telegram: TELEGRAM_BOT_TOKEN is not set", flush=True)
    await redis.aclose()
    if bot is not None:
        await bot.shutdown()
    return ok


async def _set_webhook(bot: Bot, settings: Settings) -> str:
    if settings.telegram_polling:
        raise probes.ProbeFailed(
            "TELEGRAM_UPDATES is polling: a webhook would stop the bridge's getUpdates. To use "
            "one, set BRIDGE_PUBLIC_URL (or TELEGRAM_UPDATES=webhook) and TELEGRAM_WEBHOOK_SECRET"
        )
    url = settings.public_url + WEBHOOK_PATH
    await bot.set_webhook(
        url,
        secret_token=settings.telegram_webhook_secret,
        allowed_updates=ALLOWED_UPDATES,
    )
    return f"registered {url}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--set-telegram-webhook",
        action="store_true",
        help="register <BRIDGE_PUBLIC_URL>/telegram/webhook with Telegram before checking",
    )
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"FAIL  configuration: {error}")
        return 1
    ok = asyncio.run(run_checks(settings, args.set_telegram_webhook))
    print("deployment OK" if ok else "deployment NOT OK: fix the FAIL lines above")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
