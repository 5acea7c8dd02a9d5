"""Delete everything kept about one customer, and print what was deleted.

    python -m tools.forget CUSTOMER [--slack] [--redis-url URL] [--rasa-redis-url URL]
                                    [--review-file PATH ...]

CUSTOMER: a conversation id (as on the handoff card) or a Telegram chat id. Deletes what the
bridge keeps about them in Redis (the conversation's keys, its queued jobs and dead letters,
thread maps, files, relay records, de-duplication markers, limits, its entries in the review,
unclaimed, activity and spike indexes), Rasa's tracker, and their lines in the review files
(review/candidates.yml and data/nlu/reviewed.yml, or the --review-file ones).

--slack first deletes the bridge's own Slack posts about them, with the Slack the bridge is
configured with (tools/learning_cli.py: the environment over .env, and under `make run` the
local Slack): their threads (card, transcript, relayed messages, notices) and their examples in
the topic-spike alerts (an alert quoting others too keeps theirs). Staff members' replies can
only be deleted by their authors or an admin: the command says how many remain. When Slack
cannot be reached, or a post could not be deleted, it says so and deletes nothing from Redis,
so that running it again finds the rest.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import aiohttp
from redis.asyncio import Redis
from redis.exceptions import RedisError
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bridge.learning import forget
from bridge.store.files import Files, FilesConfig
from tools.learning_cli import ROOT, configured, origin, rasa_redis_url, redis_url, setting
from tools.review import DEFAULT_OUT

REVIEW_FILES = (DEFAULT_OUT, ROOT / "data" / "nlu" / "reviewed.yml")
# How far back the staff and alert channels are read for posts naming the conversation.
HISTORY_PAGES = 25
PAGE = 200
SLACK_TIMEOUT_S = 15
# A Slack call that failed because Slack could not be reached (not a refusal).
UNREACHABLE = (aiohttp.ClientError, asyncio.TimeoutError, OSError)


class SlackUnreachable(Exception):
    """Slack did not answer (or refused the token): nothing was deleted there."""


@dataclass
class SlackOutcome:
    done: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


class SlackErasure:
    """The bridge's own posts about one conversation, deleted from Slack."""

    def __init__(self, client: AsyncWebClient, staff_channel: str, alert_channel: str) -> None:
        self._client = client
        self._staff_channel = staff_channel
        self._alert_channel = alert_channel
        self._bot_id = ""
        self._user_id = ""

    async def connect(self) -> None:
        """Who the bridge is in Slack (its posts are the ones with its bot id)."""
        try:
            auth: Any = await self._client.auth_test()
        except SlackApiError as exc:
            raise SlackUnreachable(f"Slack refused the bot token ({_error(exc)})") from None
        except UNREACHABLE as exc:
            raise SlackUnreachable(f"no answer ({_describe(exc)})") from None
        self._bot_id = str(auth.get("bot_id") or "")
        self._user_id = str(auth.get("user_id") or "")

    async def erase(self, conversation_id: str, threads: list[str]) -> SlackOutcome:
        outcome = SlackOutcome()
        try:
            found = await self._posts_naming(conversation_id, self._staff_channel, outcome)
            for channel, message in found:
                if _alert_lines(message, conversation_id):
                    await self._alert(channel, message, conversation_id, outcome)
                elif str(message["ts"]) not in threads:
                    threads = [*threads, str(message["ts"])]  # a card Redis no longer maps
            for thread_ts in threads:
                await self._thread(thread_ts, outcome)
            if self._alert_channel and self._alert_channel != self._staff_channel:
                alerts = await self._posts_naming(conversation_id, self._alert_channel, outcome)
                for channel, message in alerts:
                    if _alert_lines(message, conversation_id):
                        await self._alert(channel, message, conversation_id, outcome)
        except UNREACHABLE as exc:
            outcome.failed.append(f"Slack stopped answering ({_describe(exc)})")
        return outcome

    def _ours(self, message: dict[str, Any]) -> bool:
        if self._bot_id and message.get("bot_id") == self._bot_id:
            return True
        return bool(self._user_id) and message.get("user") == self._user_id

    async def _posts_naming(
        self, conversation_id: str, channel: str, outcome: SlackOutcome
    ) -> list[tuple[str, dict[str, Any]]]:
        """The bridge's top-level posts in `channel` that name the conversation."""
        found: list[tuple[str, dict[str, Any]]] = []
        cursor = ""
        for _ in range(HISTORY_PAGES):
            try:
                page: Any = await self._client.conversations_history(
                    channel=channel, limit=PAGE, cursor=cursor or None
                )
            except SlackApiError as exc:
                if _error(exc) == "channel_not_found":  # nothing was ever posted there
                    outcome.done.append(f"channel {channel}: not found")
                else:
                    outcome.failed.append(f"channel {channel}: not read ({_error(exc)})")
                return found
            for message in page.get("messages") or []:
                if self._ours(message) and forget.mentions(_text(message), conversation_id):
                    found.append((channel, message))
            cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                return found
        outcome.done.append(f"channel {channel}: read its newest {HISTORY_PAGES * PAGE} posts")
        return found

    async def _thread(self, thread_ts: str, outcome: SlackOutcome) -> None:
        """The bridge's own posts in one thread: replies first (deleting the card first would
        leave them orphaned in some clients), then the card."""
        channel = self._staff_channel
        messages: list[dict[str, Any]] = []
        cursor = ""
        while True:
            try:
                page: Any = await self._client.conversations_replies(
                    channel=channel, ts=thread_ts, limit=PAGE, cursor=cursor or None
                )
            except SlackApiError as exc:
                if _error(exc) in ("thread_not_found", "message_not_found"):
                    outcome.done.append(f"Slack thread {thread_ts}: already gone")
                    return
                outcome.failed.append(f"Slack thread {thread_ts}: not read ({_error(exc)})")
                return
            messages += list(page.get("messages") or [])
            cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                break
        ours = [m for m in messages if self._ours(m)]
        deleted = 0
        for message in sorted(ours, key=lambda m: m["ts"] == thread_ts):
            try:
                await self._client.chat_delete(channel=channel, ts=message["ts"])
                deleted += 1
            except SlackApiError as exc:
                if _error(exc) == "message_not_found":
                    continue
                outcome.failed.append(
                    f"Slack thread {thread_ts}: post {message['ts']} not deleted ({_error(exc)})"
                )
        left = len({m["ts"] for m in messages} - {m["ts"] for m in ours})
        note = f"; {left} staff posts remain (delete them in Slack)" if left else ""
        outcome.done.append(f"deleted {deleted} bridge posts of Slack thread {thread_ts}{note}")

    async def _alert(
        self, channel: str, message: dict[str, Any], conversation_id: str, outcome: SlackOutcome
    ) -> None:
        """A topic-spike alert quoting them: without their examples, or deleted when they were
        all it quoted."""
        ts = str(message["ts"])
        lines = str(message.get("text") or "").split("\n")
        theirs = _alert_lines(message, conversation_id)
        kept = [line for line in lines if line not in theirs]
        try:
            if any(line.startswith("> ") for line in kept):
                await self._client.chat_update(channel=channel, ts=ts, text="\n".join(kept))
                outcome.done.append(
                    f"removed {len(theirs)} examples from the topic-spike alert {ts} in {channel}"
                )
            else:
                await self._client.chat_delete(channel=channel, ts=ts)
                outcome.done.append(f"deleted the topic-spike alert {ts} in {channel}")
        except SlackApiError as exc:
            outcome.failed.append(f"topic-spike alert {ts} in {channel}: {_error(exc)}")


def _alert_lines(message: dict[str, Any], conversation_id: str) -> list[str]:
    """The example lines of a spike alert that quote the conversation
    (bridge/platforms/slack/render.py: `> text  _(outcome, conversation)_`)."""
    ending = re.compile(rf", {re.escape(conversation_id)}\)_\s*$")
    text = str(message.get("text") or "")
    return [line for line in text.split("\n") if line.startswith("> ") and ending.search(line)]


def _text(message: dict[str, Any]) -> str:
    """A post's text and its blocks' (a card's id may be in either)."""
    return str(message.get("text") or "") + "\n" + repr(message.get("blocks") or "")


def _error(exc: SlackApiError) -> str:
    return str(exc.response.get("error") or exc)


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _shown(url: str) -> str:
    """A URL without its password."""
    parsed = urlparse(url)
    if parsed.password:
        parsed = parsed._replace(netloc=parsed.netloc.replace(parsed.password, "***"))
    return parsed.geturl()


def _slack(env: dict[str, str]) -> tuple[SlackErasure, str] | str:
    """The Slack the bridge is configured with, and where that is; or what is missing."""
    token, channel = env.get("SLACK_BOT_TOKEN", ""), setting(env, "slack_channel_id")
    if not token or not channel:
        return "SLACK_BOT_TOKEN and SLACK_CHANNEL_ID are needed (the bridge's own settings)"
    api = setting(env, "slack_api_url")
    client = AsyncWebClient(
        token=token,
        base_url=api if api.endswith("/") else api + "/",
        timeout=SLACK_TIMEOUT_S,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(),
            AsyncRateLimitErrorRetryHandler(max_retry_count=5),
        ],
    )
    where = f"{api} (SLACK_API_URL from {origin('SLACK_API_URL')})"
    return SlackErasure(client, channel, setting(env, "spike_alert_channel")), where


async def run(args: argparse.Namespace) -> int:
    env = configured()
    url = args.redis_url or redis_url(env)
    rasa_url = args.rasa_redis_url or rasa_redis_url(env, url)
    redis = Redis.from_url(url, decode_responses=True)
    rasa = Redis.from_url(rasa_url, decode_responses=True)
    try:
        return await _forget(args, env, redis, rasa, url, rasa_url)
    finally:
        await redis.aclose()
        await rasa.aclose()


async def _forget(
    args: argparse.Namespace,
    env: dict[str, str],
    redis: Redis,
    rasa: Redis,
    url: str,
    rasa_url: str,
) -> int:
    where = "--redis-url" if args.redis_url else f"REDIS_URL from {origin('REDIS_URL')}"
    stores = (
        (redis, "the bridge's Redis", f"{_shown(url)} ({where})"),
        (rasa, "Rasa's tracker store", _shown(rasa_url)),
    )
    for client, name, shown in stores:
        try:
            await client.ping()
        except RedisError as exc:
            why = str(exc).rstrip(".")
            print(f"cannot reach {name} at {shown}: {why}. Nothing was deleted.", file=sys.stderr)
            return 1
    done: list[str] = []
    conversation_id = args.customer
    try:
        conversation_id = await forget.resolve(redis, args.customer)
        if args.slack and not await _from_slack(env, redis, conversation_id, done):
            return 1
        files = Files(redis, FilesConfig(directory=setting(env, "files_directory")))
        channel = setting(env, "slack_channel_id")
        await forget.forget(redis, conversation_id, channel, rasa, files, done)
    except RedisError as exc:
        _print(f"partly forgot {conversation_id}", done)
        print(f"stopped by Redis: {exc}. Run it again to delete the rest.", file=sys.stderr)
        return 1
    for path in args.review_file or REVIEW_FILES:
        if line := forget.forget_in_review_file(Path(path), conversation_id):
            done.append(line)
    if not done:
        print(f"nothing found about {conversation_id}")
        return 0
    _print(f"forgot {conversation_id}", done)
    return 0


async def _from_slack(
    env: dict[str, str], redis: Redis, conversation_id: str, done: list[str]
) -> bool:
    """The bridge's Slack posts about the conversation; False (having said why) when Slack
    could not be reached or a post was not deleted."""
    slack = _slack(env)
    if isinstance(slack, str):
        print(f"cannot delete from Slack: {slack}. Nothing was deleted.", file=sys.stderr)
        return False
    eraser, where = slack
    try:
        await eraser.connect()
    except SlackUnreachable as exc:
        print(
            f"cannot reach Slack at {where}: {exc}. Nothing was deleted. Run it again when "
            "Slack answers, or without SLACK=1 (--slack) to delete only what Redis and the "
            "review files hold.",
            file=sys.stderr,
        )
        return False
    threads = await forget.threads_of(redis, conversation_id)
    done += await forget.stop_deliveries(redis, conversation_id)  # nothing more gets posted
    outcome = await eraser.erase(conversation_id, threads)
    done += outcome.done
    if not outcome.failed:
        return True
    _print(f"partly forgot {conversation_id}", done)
    print(f"NOT deleted from Slack ({where}):", file=sys.stderr)
    for line in outcome.failed:
        print(f"  {line}", file=sys.stderr)
    print(
        "Nothing else was deleted: Redis keeps the threads' addresses, so running it again "
        "deletes the rest.",
        file=sys.stderr,
    )
    return False


def _print(heading: str, done: list[str]) -> None:
    print(f"{heading}:")
    for line in done:
        print(f"  {line}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("customer")
    parser.add_argument("--slack", action="store_true", help="also delete the bridge's Slack posts")
    parser.add_argument("--redis-url")
    parser.add_argument("--rasa-redis-url")
    parser.add_argument(
        "--review-file",
        action="append",
        type=Path,
        help="a review file to remove them from (repeatable; default: "
        + ", ".join(str(p.relative_to(ROOT)) for p in REVIEW_FILES)
        + ")",
    )
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
