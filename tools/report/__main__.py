"""`make report [SINCE=7d]`: python -m tools.report --since 7d --out .run/report/

Writes index.html (self-contained: charts inline, no JavaScript), the charts as PNG files and
figures.json beside it, from the bridge's Redis (found as tools/learning_cli.py finds it).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from redis.asyncio import Redis

from tools.learning_cli import ROOT, configured, redis_url
from tools.report.build import build, write


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.report", description=__doc__)
    parser.add_argument("--since", default="7d", help="7d, 24h, 2w or a date (default 7d)")
    parser.add_argument("--out", type=Path, default=ROOT / ".run" / "report")
    parser.add_argument("--redis-url", help="the bridge's Redis (default: as configured)")
    args = parser.parse_args(argv)
    env = configured()
    url = args.redis_url or redis_url(env)
    redis = Redis.from_url(url, decode_responses=True)
    try:
        report = await build(redis, env, args.since)
    except ValueError as exc:
        print(f"report: {exc}", file=sys.stderr)
        return 2
    finally:
        await redis.aclose()
    index = write(report, args.out)
    f = report.figures
    print(
        f"{f.conversations} conversations, {f.by_bot} by the bot alone, {f.to_person} to a "
        f"person; wrote {index}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
