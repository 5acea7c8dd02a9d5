"""`python -m standins.slack --port P --events-url URL --signing-secret S`

With `--socket-mode --app-token xapp-…` events and clicks go over the WebSocket the app opens
(apps.connections.open), and the request URLs are not used.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from aiohttp import web

from .app import SlackConfig, create_app
from .scopes import default_manifest, parse_scopes


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m standins.slack", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8091)
    parser.add_argument("--events-url", help="where events are POSTed (the bridge's Slack URL)")
    parser.add_argument("--interactivity-url", help="where button clicks go (default: events URL)")
    parser.add_argument("--signing-secret", required=True)
    parser.add_argument("--channel-name", default="support", help="name of channel C0STAFF")
    parser.add_argument(
        "--alerts-channel-name", help="also a channel C0ALERTS of this name, for spike alerts"
    )
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
    parser.add_argument(
        "--socket-mode",
        action="store_true",
        help="deliver events and clicks over Socket Mode instead of the request URLs",
    )
    parser.add_argument("--app-token", help="the app-level token (xapp-…) for Socket Mode")
    parser.add_argument(
        "--manifest",
        type=Path,
        default=default_manifest(),
        help="Slack app manifest whose bot scopes the bot token xoxb-local-bot gets "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--scopes",
        type=parse_scopes,
        help="the bot token's scopes instead of the manifest's, comma-separated ('' for none)",
    )
    args = parser.parse_args(argv)
    if args.socket_mode and not (args.app_token or "").startswith("xapp-"):
        parser.error("--socket-mode needs --app-token xapp-…")
    config = SlackConfig(
        signing_secret=args.signing_secret,
        events_url=args.events_url,
        interactivity_url=args.interactivity_url,
        channel_name=args.channel_name,
        alerts_channel_name=args.alerts_channel_name,
        rate_limit=args.rate_limit,
        retry_delays=tuple(float(s) for s in args.retry_delays.split(",") if s.strip()),
        socket_mode=args.socket_mode,
        app_token=args.app_token,
        scopes=args.scopes,
        manifest=args.manifest,
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
