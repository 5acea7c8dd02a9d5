"""`python -m standins.telegram --port P [--rate-limit]`"""

from __future__ import annotations

import argparse
import logging

from aiohttp import web

from .app import TelegramConfig, create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m standins.telegram", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8092)
    parser.add_argument(
        "--rate-limit",
        action="store_true",
        help="enforce 1 message/s per chat and 30/s overall for send* methods",
    )
    parser.add_argument(
        "--retry-max",
        type=float,
        default=10.0,
        help="longest wait between webhook retries, seconds",
    )
    args = parser.parse_args(argv)
    config = TelegramConfig(rate_limit=args.rate_limit, retry_max=args.retry_max)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s telegram-standin %(message)s")
    base = f"http://{args.host}:{args.port}"
    web.run_app(
        create_app(config),
        host=args.host,
        port=args.port,
        print=lambda _: print(f"local Telegram Bot API on {base}/bot (files: {base}/file/bot)"),
    )


if __name__ == "__main__":
    main()
