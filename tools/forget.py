"""Delete everything kept about one customer, and print what was deleted.

    python -m tools.forget CUSTOMER [--slack] [--redis-url URL] [--rasa-redis-url URL]

CUSTOMER: a conversation id (as on the handoff card) or a Telegram chat id. Deletes the
bridge's conversation keys (record, transcript, decisions, staff marks, thread maps, files),
its entries in the review and spike indexes, and Rasa's tracker. --slack also deletes the
bridge's own posts in the customer's Slack threads (staff replies need a person or an admin).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from redis.asyncio import Redis
from slack_sdk.web.async_client import AsyncWebClient

from bridge.learning import forget
from bridge.platforms.slack.erase import ThreadEraser
from bridge.store.files import Files, FilesConfig
from tools.learning_cli import configured, rasa_redis_url, redis_url


async def run(args: argparse.Namespace) -> int:
    env = configured()
    url = args.redis_url or redis_url(env)
    redis = Redis.from_url(url, decode_responses=True)
    rasa = Redis.from_url(args.rasa_redis_url or rasa_redis_url(env, url), decode_responses=True)
    channel = env.get("SLACK_CHANNEL_ID") or "C0STAFF"
    eraser = None
    if args.slack:
        api = env.get("SLACK_API_URL") or "https://slack.com/api/"
        slack = AsyncWebClient(token=env.get("SLACK_BOT_TOKEN"), base_url=api.rstrip("/") + "/")
        eraser = ThreadEraser(slack, channel)
    try:
        conversation_id = await forget.resolve(redis, args.customer)
        files = Files(redis, FilesConfig(directory=env.get("FILES_DIRECTORY", "")))
        done = await forget.forget(redis, conversation_id, channel, rasa, eraser, files)
    finally:
        await redis.aclose()
        await rasa.aclose()
    if not done:
        print(f"nothing found about {conversation_id}")
        return 0
    print(f"forgot {conversation_id}:")
    for line in done:
        print(f"  {line}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("customer")
    parser.add_argument("--slack", action="store_true", help="also delete the bridge's Slack posts")
    parser.add_argument("--redis-url")
    parser.add_argument("--rasa-redis-url")
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
