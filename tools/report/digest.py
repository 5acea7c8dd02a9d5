"""`make digest`: the week's headline figures and one chart, posted to DIGEST_CHANNEL.

Run weekly by cron (docs/report.md), e.g. `0 8 * * mon cd /srv/support && make digest`.
Slack is the bridge's own (SLACK_BOT_TOKEN, SLACK_API_URL), read the way tools/learning_cli.py
reads the configuration; the chart is uploaded with files.getUploadURLExternal and
files.completeUploadExternal (slack_sdk's files_upload_v2), so the app needs files:write.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from redis.asyncio import Redis
from slack_sdk.web.async_client import AsyncWebClient

from tools.learning_cli import configured, redis_url, setting
from tools.report.build import Report, build
from tools.report.figures import REASONS
from tools.report.page import headline

CHART = "outcomes.png"


def text(report: Report, since: str) -> str:
    """The digest's message: the headline figures, the top reasons and failing topics."""
    f = report.figures
    lines = [f"*Support digest, last {since}*"]
    lines += [f"• {label}: *{value}*" for label, value in headline(f)]
    if f.reasons:
        top = ", ".join(f"{REASONS.get(r, r)} {n}" for r, n in list(f.reasons.items())[:3])
        lines.append(f"• why people were needed: {top}")
    if f.failing:
        lines.append(
            "• topics the bot could not handle: "
            + ", ".join(f"{t.name} ({t.count})" for t in f.failing[:3])
            + " — `make review` lists them"
        )
    lines.append("Full report: `make report` (docs/report.md).")
    return "\n".join(lines)


async def post(report: Report, since: str, slack: AsyncWebClient, channel: str) -> str:
    """Post the digest with its chart; returns the uploaded file's id."""
    answer = await slack.files_upload_v2(
        channel=channel,
        content=None,
        file=report.charts[CHART],
        filename=CHART,
        title="Bot or person",
        initial_comment=text(report, since),
        request_file_info=False,
    )
    return str(answer["files"][0]["id"]) if answer.get("files") else ""


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.report.digest", description=__doc__)
    parser.add_argument("--since", default="7d")
    parser.add_argument("--redis-url")
    parser.add_argument("--channel", help="default: DIGEST_CHANNEL")
    args = parser.parse_args(argv)
    env = configured()
    channel = args.channel or setting(env, "digest_channel")
    if not channel:
        print("digest: DIGEST_CHANNEL is not set; nothing posted", file=sys.stderr)
        return 2
    redis = Redis.from_url(args.redis_url or redis_url(env), decode_responses=True)
    try:
        report = await build(redis, env, args.since)
    finally:
        await redis.aclose()
    base_url = setting(env, "slack_api_url")
    slack = AsyncWebClient(
        token=setting(env, "slack_bot_token"),
        base_url=base_url if base_url.endswith("/") else base_url + "/",
    )
    file_id = await post(report, args.since, slack, channel)
    print(f"digest posted to {channel} (file {file_id})")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
