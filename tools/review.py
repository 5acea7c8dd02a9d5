"""Write the review file: what the assistant could not handle, for a maintainer to label.

    python -m tools.review [--out data/review/candidates.yml] [--redis-url URL] [--low 0.7]

Reads the bridge's Redis (docs/learning.md). The file is Rasa NLU YAML outside data/, so
training never picks it up until a maintainer moves examples into data/nlu.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from redis.asyncio import Redis

from bridge.learning import review
from bridge.learning.turns import LOW_CONFIDENCE
from tools.learning_cli import ROOT, configured, redis_url

DEFAULT_OUT = ROOT / "data" / "review" / "candidates.yml"


async def _collect(url: str, low: float) -> list[review.Candidate]:
    redis = Redis.from_url(url, decode_responses=True)
    try:
        return await review.collect(redis, low)
    finally:
        await redis.aclose()


def write(url: str, out: Path, low: float) -> int:
    candidates = asyncio.run(_collect(url, low))
    known = review.known_intents(ROOT / "bot" / "domain.yml")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(review.render(candidates, known), encoding="utf-8")
    groups = {c.suggestion()[0] for c in candidates}
    print(f"{len(candidates)} candidates in {len(groups)} groups written to {out}")
    return len(candidates)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument(
        "--redis-url", help="the bridge's Redis (default: REDIS_URL, .env, make run's)"
    )
    parser.add_argument(
        "--low",
        type=float,
        default=LOW_CONFIDENCE,
        help="answers below this confidence are candidates too",
    )
    args = parser.parse_args()
    url = args.redis_url or redis_url(configured())
    write(url, args.out, args.low)
    return 0


if __name__ == "__main__":
    sys.exit(main())
