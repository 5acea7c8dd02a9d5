"""`python -m standins.slack --port P --events-url URL --signing-secret S`"""

from __future__ import annotations

import argparse
import logging

from aiohttp import web

from .app import SlackConfig, create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m standins.slack", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8091)
    parser.add_argument("--events-url", help="where events are POSTed (the bridge's Slack URL)")
    parser.add_argument("--interactivity-url", help="where button clicks go (default: events URL)")
    parser.add_argument("--signing-secret", required=True)
    parser.add_argument("--channel-name", default="support", help="name of channel C0STAFF")
    parser.add_argument(
        "--rate-limit",
        action="store_true",
        help="enforce 1 chat.postMessage per second per channel",
    )
    parser.add_argument(
        "--retry-delays",
        default="1,5,15",
        help="seconds between event delivery retries, comma-separated",
    )
    args = parser.parse_args(argv)
    config = SlackConfig(
        signing_secret=args.signing_secret,
        events_url=args.events_url,
        interactivity_url=args.interactivity_url,
        channel_name=args.channel_name,
        rate_limit=args.rate_limit,
        retry_delays=tuple(float(s) for s in args.retry_delays.split(",") if s.strip()),
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s slack-standin %(message)s")
    web.run_app(
        create_app(config),
        host=args.host,
        port=args.port,
        print=lambda _: print(
            f"local Slack on http://{args.host}:{args.port}/ "
            f"(staff page), API http://{args.host}:{args.port}/api/"
        ),
    )


if __name__ == "__main__":
    main()
